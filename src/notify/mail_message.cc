#include "notify/mail_message.h"

#include <time.h>

#include <cstdio>

#include "notify/template.h"

namespace watchd {
namespace {

// Digest subjects name this many events, then "...".
constexpr size_t kSubjectEvents = 5;
// RFC 5322 2.1.1: at most 998 characters per line.
constexpr size_t kMaxLine = 998;

// Line breaks and other controls in a header would end it early (and let
// a reason from the network inject headers): they become spaces, and
// runs of spaces one.
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool space = static_cast<unsigned char>(c) < ' ' || c == 0x7f || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v =
        (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// A header value as written: plain when ASCII, else RFC 2047 encoded words
// (each under the 75-character limit, cut between UTF-8 characters).
std::string EncodeHeader(const std::string& value) {
  bool ascii = true;
  for (char c : value) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) return value;
  std::string out;
  size_t at = 0;
  while (at < value.size()) {
    size_t end = std::min(value.size(), at + 45);
    while (end < value.size() && (uint8_t(value[end]) & 0xc0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(value.substr(at, end - at)) + "?=";
    at = end;
  }
  return out;
}

// RFC 5322's date-time, in UTC: "Wed, 01 May 2024 12:00:00 +0000".
std::string MailDate(SystemTime now) {
  time_t t = std::chrono::system_clock::to_time_t(now);
  struct tm tm;
  gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed",
                                          "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
  char out[64];
  snprintf(out, sizeof(out), "%s, %02d %s %04d %02d:%02d:%02d +0000",
           kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900,
           tm.tm_hour, tm.tm_min, tm.tm_sec);
  return out;
}

// Text with CRLF line ends and no line over the limit.
void AppendBody(const std::string& text, std::string* out) {
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    for (size_t cut = 0; cut < line.size() || cut == 0; cut += kMaxLine) {
      *out += line.substr(cut, kMaxLine) + "\r\n";
      if (line.size() <= kMaxLine) break;
    }
    if (end == text.size()) break;
    at = end + 1;
  }
}

}  // namespace

std::string MailSubject(const MailTargetConfig& mail,
                        const std::vector<Notification>& batch) {
  if (batch.size() == 1) return OneLine(RenderText(mail.subject, batch[0]));
  std::string subject = "watchd: " + std::to_string(batch.size()) + " events: ";
  for (size_t i = 0; i < batch.size() && i < kSubjectEvents; ++i) {
    const Notification& n = batch[i];
    if (i > 0) subject += ", ";
    subject += n.service.empty() ? std::string("watchd") : n.service;
    subject += std::string(" ") + NotifyEventName(n.event);
  }
  if (batch.size() > kSubjectEvents) subject += ", ...";
  return OneLine(subject);
}

std::string BuildMailMessage(const MailTargetConfig& mail,
                             const std::vector<Notification>& batch,
                             SystemTime now, const std::string& message_id) {
  std::string to;
  for (const std::string& address : mail.to) {
    to += (to.empty() ? "" : ", ") + address;
  }
  std::string out;
  out += "Date: " + MailDate(now) + "\r\n";
  out += "From: " + mail.from + "\r\n";
  out += "To: " + to + "\r\n";
  out += "Subject: " + EncodeHeader(MailSubject(mail, batch)) + "\r\n";
  out += "Message-ID: <" + message_id + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: 8bit\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "\r\n";
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i > 0) out += "\r\n";
    AppendBody(RenderText(mail.body, batch[i]), &out);
  }
  return out;
}

}  // namespace watchd
