// The `notify:` section and services' `notify:` lists: what they build,
// and each mistake reported at its value.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::AllErrors;
using testing::HasError;
using testing::Pos;

LoadResult Load(const std::string& text) {
  return LoadConfigFromString(text, "w.yaml", {.check_commands = false});
}

NotifyEventSet Events(std::initializer_list<NotifyEvent> events) {
  NotifyEventSet set = 0;
  for (NotifyEvent e : events) set |= 1u << static_cast<unsigned>(e);
  return set;
}

TEST(LoaderNotifyTest, SpecExample) {
  LoadResult r = Load(
      "notify:\n"
      "  targets:\n"
      "    ops-hook: {webhook: {url: \"http://127.0.0.1:9000/hook\"}}\n"
      "    ops-mail: {mail: {url: \"smtp://127.0.0.1:25\", from: watchd@host, "
      "to: [ops@example.org]}}\n"
      "    pager:    {command: [/usr/local/bin/page, \"{service}\", "
      "\"{event}\"]}\n"
      "  reminder: 30m\n"
      "services:\n"
      "  web:\n"
      "    notify: [ops-hook]\n"
      "  db: {}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  const NotifyConfig& n = r.config.notify;
  ASSERT_EQ(n.targets.size(), 3u);
  const auto& hook =
      std::get<WebhookTargetConfig>(n.targets.at("ops-hook").kind);
  EXPECT_EQ(hook.url, "http://127.0.0.1:9000/hook");
  EXPECT_EQ(hook.timeout, seconds(10));
  const auto& mail = std::get<MailTargetConfig>(n.targets.at("ops-mail").kind);
  EXPECT_EQ(mail.from, "watchd@host");
  EXPECT_EQ(mail.to, std::vector<std::string>{"ops@example.org"});
  EXPECT_FALSE(mail.starttls);
  EXPECT_EQ(mail.subject, "watchd: {service} {event}");
  const auto& pager = std::get<CommandTargetConfig>(n.targets.at("pager").kind);
  EXPECT_EQ(pager.argv, (std::vector<std::string>{"/usr/local/bin/page",
                                                  "{service}", "{event}"}));
  EXPECT_EQ(n.targets.at("pager").events, kAllNotifyEvents);
  EXPECT_EQ(n.reminder, minutes(30));
  EXPECT_EQ(n.coalesce, seconds(10));
  EXPECT_EQ(n.queue_max, 1000u);
  EXPECT_EQ(r.config.services[0].notify,
            std::optional<std::vector<std::string>>({"ops-hook"}));
  EXPECT_FALSE(r.config.services[1].notify.has_value());
}

TEST(LoaderNotifyTest, EveryKey) {
  LoadResult r = Load(
      "notify:\n"
      "  targets:\n"
      "    hook:\n"
      "      webhook:\n"
      "        url: https://hooks.example.org/x\n"
      "        headers: {Authorization: Bearer t}\n"
      "        timeout: 3s\n"
      "        tls_verify: false\n"
      "      events: [hung, dead, recovered]\n"
      "      services: [web*, db]\n"
      "    mail:\n"
      "      mail:\n"
      "        url: smtp://mx.example.org:587\n"
      "        from: watchd@example.org\n"
      "        to: ops@example.org\n"
      "        starttls: true\n"
      "        username: watchd\n"
      "        password_file: /etc/watchd/smtp.pass\n"
      "        subject: '[{host}] {service} {event}'\n"
      "        body: '{reason}'\n"
      "        timeout: 1m\n"
      "      events: stopping\n"
      "    page:\n"
      "      command: {argv: [page, '{service}'], timeout: 5s}\n"
      "  reminder: 0s\n"
      "  coalesce: 2s\n"
      "  queue_max: 50\n"
      "  retry: {attempts: 3, initial: 500ms, within: 1m}\n"
      "services:\n"
      "  db: {notify: []}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  const NotifyConfig& n = r.config.notify;
  const NotifyTargetConfig& hook = n.targets.at("hook");
  const auto& webhook = std::get<WebhookTargetConfig>(hook.kind);
  EXPECT_EQ(webhook.headers.size(), 1u);
  EXPECT_EQ(webhook.timeout, seconds(3));
  EXPECT_FALSE(webhook.tls_verify);
  EXPECT_EQ(hook.events, Events({NotifyEvent::kHung, NotifyEvent::kDead,
                                 NotifyEvent::kRecovered}));
  EXPECT_EQ(hook.services, (std::vector<std::string>{"web*", "db"}));
  const auto& mail = std::get<MailTargetConfig>(n.targets.at("mail").kind);
  EXPECT_TRUE(mail.starttls);
  EXPECT_EQ(mail.username, "watchd");
  EXPECT_EQ(mail.password_file, "/etc/watchd/smtp.pass");
  EXPECT_EQ(mail.subject, "[{host}] {service} {event}");
  EXPECT_EQ(mail.body, "{reason}");
  EXPECT_EQ(mail.timeout, minutes(1));
  EXPECT_EQ(n.targets.at("mail").events, Events({NotifyEvent::kStopping}));
  const auto& page = std::get<CommandTargetConfig>(n.targets.at("page").kind);
  EXPECT_EQ(page.timeout, seconds(5));
  EXPECT_EQ(n.reminder, Duration::zero());
  EXPECT_EQ(n.coalesce, seconds(2));
  EXPECT_EQ(n.queue_max, 50u);
  EXPECT_EQ(n.retry.attempts, 3);
  EXPECT_EQ(n.retry.initial, std::chrono::milliseconds(500));
  EXPECT_EQ(n.retry.within, minutes(1));
  EXPECT_EQ(r.config.services[0].notify, std::vector<std::string>{});
}

TEST(LoaderNotifyTest, EachMistakeAtItsValue) {
  const std::string text =
      "notify:\n"
      "  targets:\n"
      "    a: {webhook: {url: 'ftp://x/'}}\n"
      "    b: {mail: {url: 'http://mx', from: 'Ops <o@x>', to: []}}\n"
      "    c: {events: [hung]}\n"
      "    d: {webhook: {url: 'http://x/'}, command: [x]}\n"
      "    e: {command: [x, '--svc={service}', '{sevrice}'], events: [hnug]}\n"
      "    f: {mail: {url: 'smtps://mx', from: a@b, to: c@d, starttls: true, "
      "password_file: relative}}\n"
      "    g: {mail: {url: 'smtp://mx', from: a@b, to: c@d, subject: "
      "'{servce} down'}, services: [web, wbe]}\n"
      "    'bad name': {command: [x]}\n"
      "  reminder: 30\n"
      "  queue_max: 0\n"
      "  retry: {attempts: 0}\n"
      "  coalesc: 1s\n"
      "services:\n"
      "  web: {notify: [a, hoko, a]}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, Pos(text, "'ftp://x/'"),
                       "invalid url 'ftp://x/': must start with http://"));
  EXPECT_TRUE(HasError(r, Pos(text, "'http://mx'"),
                       "must start with smtp:// or smtps://"));
  EXPECT_TRUE(HasError(r, Pos(text, "'Ops <o@x>'"), "invalid mail address"));
  EXPECT_TRUE(HasError(r, Pos(text, "[]}"), "expected at least one address"));
  EXPECT_TRUE(HasError(r, Pos(text, "{events: [hung]}"),
                       "missing the target's kind: webhook, mail or command"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "command: [x]}\n"), "'command' is a second one"));
  EXPECT_TRUE(HasError(r, Pos(text, "'--svc"),
                       "'{service}' replaces whole arguments only"));
  EXPECT_TRUE(HasError(r, Pos(text, "'{sevrice}'"),
                       "unknown placeholder '{sevrice}': use {event}, "
                       "{service}, {state}, {previous_state}, {reason}, "
                       "{check}, {time} or {host} (did you mean "
                       "'{service}'?)"));
  EXPECT_TRUE(HasError(r, Pos(text, "hnug"), "invalid value 'hnug'"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "starttls"), "'starttls' applies only to smtp://"));
  EXPECT_TRUE(HasError(r, Pos(text, "relative"),
                       "password_file must be an absolute path"));
  EXPECT_TRUE(HasError(r, Pos(text, "password_file"),
                       "password_file needs a username"));
  EXPECT_TRUE(HasError(r, Pos(text, "'{servce} down'"),
                       "unknown placeholder '{servce}'"));
  EXPECT_TRUE(HasError(r, Pos(text, "wbe"),
                       "unknown service 'wbe' in the services of notify "
                       "target 'g' (did you mean 'web'?)"));
  EXPECT_TRUE(HasError(r, Pos(text, "'bad name'"), "invalid target name"));
  EXPECT_TRUE(HasError(r, Pos(text, "30\n"), "duration needs a unit"));
  EXPECT_TRUE(HasError(r, Pos(text, "0\n", 2), "from 1 to 1000000"));
  EXPECT_TRUE(HasError(r, Pos(text, "0}"), "from 1 to 100"));
  EXPECT_TRUE(HasError(r, Pos(text, "coalesc"),
                       "unknown key 'coalesc' (did you mean 'coalesce'?)"));
  EXPECT_TRUE(HasError(r, Pos(text, "hoko"), "unknown notify target 'hoko'"));
  EXPECT_TRUE(HasError(r, Pos(text, "a]"), "'a' is already in notify"));
}

TEST(LoaderNotifyTest, OnlyInTheMainFile) {
  watchd::testing::TempDir dir;
  ASSERT_TRUE(watchd::testing::WriteFile(dir.File("main.yaml"),
                                         "include: more.yaml\n"));
  ASSERT_TRUE(watchd::testing::WriteFile(
      dir.File("more.yaml"), "notify: {targets: {}}\nservices: {}\n"));
  LoadResult r = LoadConfig(dir.File("main.yaml"));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            dir.File("more.yaml") +
                ":1:1: 'notify' is only allowed in the main file");
}

TEST(LoaderNotifyTest, UnknownTargetWithNoneDefined) {
  const std::string text = "services: {web: {notify: ops}}\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            Pos(text, "ops") +
                ": unknown notify target 'ops': no notify targets are defined");
}

TEST(LoaderNotifyTest, CommandTargetMustBeRunnable) {
  const std::string text =
      "notify: {targets: {page: {command: [/no/such/page, '{event}']}}}\n";
  LoadResult r = LoadConfigFromString(text, "w.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            Pos(text, "/no/such/page") +
                ": cannot run /no/such/page: No such file or directory");
}

}  // namespace
}  // namespace watchd
