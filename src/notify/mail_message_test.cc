#include "notify/mail_message.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

MailTargetConfig Mail() {
  MailTargetConfig mail;
  mail.url = "smtp://127.0.0.1:25";
  mail.from = "watchd@box";
  mail.to = {"ops@example.org", "oncall@example.org"};
  return mail;
}

Notification Hung(const std::string& service) {
  Notification n;
  n.event = NotifyEvent::kHung;
  n.service = service;
  n.state = "hung";
  n.previous_state = "ok";
  n.reason = "health: timeout after 2s";
  n.check = "health";
  n.time = SystemTime(std::chrono::milliseconds(1714564800123));
  n.host = "box";
  return n;
}

const SystemTime kNow(std::chrono::seconds(1714564801));

// The header block of `message`, with its final CRLF.
std::string Headers(const std::string& message) {
  return message.substr(0, message.find("\r\n\r\n") + 2);
}
std::string Body(const std::string& message) {
  return message.substr(message.find("\r\n\r\n") + 4);
}

TEST(MailMessageTest, HeadersOfOneNotification) {
  std::string m = BuildMailMessage(Mail(), {Hung("web")}, kNow, "1.2@box");
  EXPECT_EQ(Headers(m),
            "Date: Wed, 01 May 2024 12:00:01 +0000\r\n"
            "From: watchd@box\r\n"
            "To: ops@example.org, oncall@example.org\r\n"
            "Subject: watchd: web hung\r\n"
            "Message-ID: <1.2@box>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "Auto-Submitted: auto-generated\r\n");
}

TEST(MailMessageTest, DefaultBodyListsTheFieldsWithCrlf) {
  std::string body = Body(BuildMailMessage(Mail(), {Hung("web")}, kNow, "x"));
  EXPECT_EQ(body,
            "Service: web\r\n"
            "Event:   hung\r\n"
            "State:   hung (was ok)\r\n"
            "Reason:  health: timeout after 2s\r\n"
            "Check:   health\r\n"
            "Date:    2024-05-01T12:00:00.123Z\r\n"
            "Host:    box\r\n"
            "\r\n");
}

TEST(MailMessageTest, TemplatesAreTheOperators) {
  MailTargetConfig mail = Mail();
  mail.subject = "[{host}] {service} is {state}";
  mail.body = "{service}: {reason}";
  std::string m = BuildMailMessage(mail, {Hung("web")}, kNow, "x");
  EXPECT_NE(m.find("Subject: [box] web is hung\r\n"), std::string::npos);
  EXPECT_EQ(Body(m), "web: health: timeout after 2s\r\n");
}

TEST(MailMessageTest, ADigestIsOneMailListingEveryEvent) {
  MailTargetConfig mail = Mail();
  mail.body = "{service} {event}";
  std::vector<Notification> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(Hung("s" + std::to_string(i)));
  std::string m = BuildMailMessage(mail, batch, kNow, "x");
  EXPECT_NE(m.find("Subject: watchd: 7 events: s0 hung, s1 hung, s2 hung, s3 "
                   "hung, s4 hung, ...\r\n"),
            std::string::npos)
      << m;
  EXPECT_EQ(Body(m),
            "s0 hung\r\n\r\ns1 hung\r\n\r\ns2 hung\r\n\r\ns3 hung\r\n\r\ns4 "
            "hung\r\n\r\ns5 hung\r\n\r\ns6 hung\r\n");
}

TEST(MailMessageTest, NoHeaderCanBeInjectedThroughTheSubject) {
  MailTargetConfig mail = Mail();
  mail.subject = "{reason}";
  Notification n = Hung("web");
  n.reason = "bad\r\nBcc: victim@example.org\n\nbody";
  std::string m = BuildMailMessage(mail, {n}, kNow, "x");
  EXPECT_NE(m.find("Subject: bad Bcc: victim@example.org body\r\n"),
            std::string::npos)
      << m;
  EXPECT_EQ(Headers(m).find("\r\nBcc:"), std::string::npos);
}

TEST(MailMessageTest, NonAsciiSubjectIsEncoded) {
  MailTargetConfig mail = Mail();
  mail.subject = "{reason}";
  Notification n = Hung("web");
  n.reason = "caf\xc3\xa9";
  std::string m = BuildMailMessage(mail, {n}, kNow, "x");
  EXPECT_NE(m.find("Subject: =?UTF-8?B?Y2Fmw6k=?=\r\n"), std::string::npos)
      << m;
}

TEST(MailMessageTest, LongLinesAreCutAndBareLfBecomesCrlf) {
  MailTargetConfig mail = Mail();
  mail.body = "{reason}";
  Notification n = Hung("web");
  n.reason = std::string(2500, 'x') + "\nnext\r\nlast";
  std::string body = Body(BuildMailMessage(mail, {n}, kNow, "x"));
  EXPECT_EQ(body, std::string(998, 'x') + "\r\n" + std::string(998, 'x') +
                      "\r\n" + std::string(504, 'x') + "\r\nnext\r\nlast\r\n");
}

}  // namespace
}  // namespace watchd
