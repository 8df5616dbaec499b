#include "notify/command_sender.h"

#include <gtest/gtest.h>

#include <optional>

#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::seconds;

Notification Dead(const std::string& service) {
  Notification n;
  n.event = NotifyEvent::kDead;
  n.service = service;
  n.state = "dead";
  n.previous_state = "ok";
  n.reason = "no process";
  n.time = SystemTime(std::chrono::milliseconds(1714564800123));
  n.host = "box";
  return n;
}

TEST(CommandFieldsTest, OneNotificationIsItsFields) {
  auto fields = CommandFields({Dead("web")});
  EXPECT_EQ(fields["event"], "dead");
  EXPECT_EQ(fields["service"], "web");
  EXPECT_EQ(fields["previous_state"], "ok");
  EXPECT_EQ(fields["check"], "");
  EXPECT_EQ(fields["time"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(fields.size(), std::size(kNotifyFields));
}

TEST(CommandFieldsTest, ADigestNamesEachServiceOnce) {
  auto fields = CommandFields({Dead("web"), Dead("db"), Dead("web")});
  EXPECT_EQ(fields["event"], "digest");
  EXPECT_EQ(fields["service"], "web db");
  EXPECT_EQ(fields["reason"], "3 events");
  EXPECT_EQ(fields["state"], "");
  EXPECT_EQ(fields["host"], "box");
}

TEST(CommandFieldsTest, EnvironmentHasEveryFieldTheCountAndALinePerEvent) {
  Notification multi = Dead("db");
  multi.reason = "two\nlines";
  auto env = CommandEnvironment({Dead("web"), multi});
  auto has = [&](const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
  };
  EXPECT_TRUE(has("WATCHD_EVENT=digest"));
  EXPECT_TRUE(has("WATCHD_SERVICE=web db"));
  EXPECT_TRUE(has("WATCHD_PREVIOUS_STATE="));
  EXPECT_TRUE(has("WATCHD_COUNT=2"));
  EXPECT_TRUE(
      has("WATCHD_EVENTS=2024-05-01T12:00:00.123Z web dead: no "
          "process\n2024-05-01T12:00:00.123Z db dead: two lines\n"));
}

class CommandSenderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  Delivery SendAndWait(CommandSender& sender,
                       const std::vector<Notification>& batch) {
    std::optional<Delivery> result;
    sender.Send(batch, [&](Delivery d) { result = std::move(d); });
    EXPECT_FALSE(result) << "never inside Send";
    EXPECT_TRUE(
        testing::RunLoopUntil(loop_, [&] { return result.has_value(); }));
    return result.value_or(Delivery{});
  }

  EventLoop loop_;
  testing::TempDir dir_;
};

TEST_F(CommandSenderTest, ArgumentsAndEnvironmentReachTheCommand) {
  const std::string out = dir_.File("out");
  CommandTargetConfig config;
  config.argv = {"/bin/sh",
                 "-c",
                 "printf '%s|%s|%s|%s' \"$1\" \"$2\" \"$WATCHD_SERVICE\" "
                 "\"$WATCHD_REASON\" > " +
                     out,
                 "sh",
                 "{event}",
                 "{service}"};
  CommandSender sender(&loop_, config);
  Delivery d = SendAndWait(sender, {Dead("web")});
  EXPECT_TRUE(d.status.ok()) << d.status.message();
  EXPECT_EQ(testing::ReadFile(out), "dead|web|web|no process");
}

TEST_F(CommandSenderTest, FailureIsWorthARetryAndSaysWhy) {
  CommandTargetConfig config;
  config.argv = {"/bin/sh", "-c", "echo pager down; exit 3"};
  CommandSender sender(&loop_, config);
  Delivery d = SendAndWait(sender, {Dead("web")});
  EXPECT_FALSE(d.status.ok());
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.status.message(), "/bin/sh: exit 3: pager down");
}

TEST_F(CommandSenderTest, TimeoutKillsIt) {
  CommandTargetConfig config;
  config.argv = {"sleep", "60"};
  config.timeout = std::chrono::milliseconds(200);
  CommandSender sender(&loop_, config);
  Delivery d = SendAndWait(sender, {Dead("web")});
  EXPECT_FALSE(d.status.ok());
  EXPECT_NE(d.status.message().find("timed out"), std::string::npos)
      << d.status.message();
}

TEST_F(CommandSenderTest, DestroyedWhileRunning) {
  CommandTargetConfig config;
  config.argv = {"sleep", "60"};
  auto sender = std::make_unique<CommandSender>(&loop_, config);
  bool called = false;
  sender->Send({Dead("web")}, [&](Delivery) { called = true; });
  sender.reset();
  loop_.RunOnce(std::chrono::milliseconds(50));
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace watchd
