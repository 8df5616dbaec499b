#include "actions/systemd_supervisor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The properties every `systemctl show` asks for, as the fake logs them.
constexpr char kShow[] =
    "[show][-p][LoadState][-p][MainPID][-p][ActiveState][-p][SubState][-p]"
    "[Result]";

class SystemdSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  template <typename Cond>
  bool RunUntil(Cond cond, Duration limit = seconds(60)) {
    return testing::RunLoopUntil(loop_, cond, limit);
  }

  // A supervisor whose systemctl is the fake, in `mode`, logging to log_.
  std::unique_ptr<Supervisor> Make(const std::string& mode,
                                   std::vector<std::string> extra = {},
                                   Duration timeout = seconds(60)) {
    SupervisorConfig config;
    config.name = "sd";
    config.type = SupervisorType::kSystemd;
    config.systemctl = {testing::SourcePath("tests/servers/fake_systemctl.sh"),
                        log_, mode};
    config.systemctl.insert(config.systemctl.end(), extra.begin(), extra.end());
    config.timeout = timeout;
    auto supervisor = MakeSupervisor(config, &loop_, nullptr);
    EXPECT_TRUE(supervisor.ok()) << supervisor.status().message();
    return supervisor.ok() ? std::move(*supervisor) : nullptr;
  }

  Status Act(Supervisor* supervisor, bool start = false) {
    std::optional<Status> result;
    auto done = [&](Status s) { result = s; };
    auto call = start ? supervisor->Start(program_, done)
                      : supervisor->Restart(program_, done);
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(Status::Error("no result"));
  }

  Status Recover(Supervisor* supervisor) {
    std::optional<Status> result;
    auto call = supervisor->Recover(program_, [&](Status s) { result = s; });
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(Status::Error("no result"));
  }

  Result<ProgramStatus> Show(Supervisor* supervisor) {
    std::optional<Result<ProgramStatus>> result;
    auto call = supervisor->GetStatus(
        program_, [&](Result<ProgramStatus> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    if (!result) return Status::Error("no result");
    return std::move(*result);
  }

  // A GetStatusReply of `unit` whose answer lands in replies_[tag].
  std::unique_ptr<SupervisorCall> Ask(Supervisor* supervisor,
                                      const std::string& unit,
                                      const std::string& tag) {
    return supervisor->GetStatusReply(
        {unit, unit, 0},
        [this, tag](StatusReply reply) { replies_.emplace(tag, reply); });
  }

  std::string ErrorOf(const std::string& tag) {
    auto it = replies_.find(tag);
    if (it == replies_.end()) return "no answer";
    return it->second.status.ok() ? "ok" : it->second.status.status().message();
  }

  size_t Spawns() {
    std::string log = testing::ReadFile(log_);
    return std::count(log.begin(), log.end(), '\n');
  }

  EventLoop loop_;
  testing::TempDir dir_;
  std::string log_ = dir_.File("systemctl.log");
  ProgramRef program_{"web", "web.service", 0};
  std::map<std::string, StatusReply> replies_;
};

TEST_F(SystemdSupervisorTest, RestartRunsSystemctlRestartUnit) {
  auto supervisor = Make("ok");
  ASSERT_NE(supervisor, nullptr);
  Status status = Act(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(testing::ReadFile(log_), "[restart][web.service]\n");
}

TEST_F(SystemdSupervisorTest, StartRunsSystemctlStartUnit) {
  auto supervisor = Make("ok");
  ASSERT_NE(supervisor, nullptr);
  Status status = Act(supervisor.get(), /*start=*/true);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(testing::ReadFile(log_), "[start][web.service]\n");
}

TEST_F(SystemdSupervisorTest, SystemctlPrefixArgumentsComeFirst) {
  auto supervisor = Make("ok", {"--user"});
  ASSERT_NE(supervisor, nullptr);
  ASSERT_TRUE(Act(supervisor.get()).ok());
  ASSERT_TRUE(Show(supervisor.get()).ok());
  EXPECT_EQ(testing::ReadFile(log_),
            "[--user][restart][web.service]\n[--user]" + std::string(kShow) +
                "[web.service]\n");
}

TEST_F(SystemdSupervisorTest, GetStatusParsesMainPidAndActiveState) {
  auto supervisor = Make("ok");
  ASSERT_NE(supervisor, nullptr);
  EXPECT_TRUE(supervisor->reports_pid());
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 4242);
  EXPECT_EQ(status->state, "active");
  EXPECT_EQ(testing::ReadFile(log_), std::string(kShow) + "[web.service]\n");
}

TEST_F(SystemdSupervisorTest, MainPidZeroIsNotRunning) {
  auto supervisor = Make("stopped");
  ASSERT_NE(supervisor, nullptr);
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 0);
  EXPECT_EQ(status->state, "inactive");
}

TEST_F(SystemdSupervisorTest, StartLimitHitIsTheSupervisorGivingUp) {
  auto supervisor = Make("giveup");
  ASSERT_NE(supervisor, nullptr);
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 0);
  EXPECT_EQ(status->state, "failed");
  EXPECT_EQ(status->hold, ProgramHold::kGaveUp);
  EXPECT_EQ(status->hold_reason, "start-limit-hit");
}

TEST_F(SystemdSupervisorTest, OtherFailuresAndStopsHoldNothing) {
  for (const char* mode : {"failed", "stopped", "ok"}) {
    SCOPED_TRACE(mode);
    auto supervisor = Make(mode);
    ASSERT_NE(supervisor, nullptr);
    Result<ProgramStatus> status = Show(supervisor.get());
    ASSERT_TRUE(status.ok()) << status.status().message();
    EXPECT_EQ(status->hold, ProgramHold::kNone);
    EXPECT_EQ(status->hold_reason, "");
  }
}

TEST_F(SystemdSupervisorTest, AutoRestartIsTheSupervisorBackingOff) {
  auto supervisor = Make("autorestart");
  ASSERT_NE(supervisor, nullptr);
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 0);
  EXPECT_EQ(status->state, "activating");
  EXPECT_EQ(status->hold, ProgramHold::kBackingOff);
  EXPECT_EQ(status->hold_reason, "auto-restart");
}

TEST_F(SystemdSupervisorTest,
       RecoverResetsTheFailureThenStartsWithoutBlocking) {
  auto supervisor = Make("ok", {"--user"});
  ASSERT_NE(supervisor, nullptr);
  Status status = Recover(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(testing::ReadFile(log_),
            "[--user][reset-failed][web.service]\n"
            "[--user][--no-block][start][web.service]\n");
}

TEST_F(SystemdSupervisorTest, RecoverStopsAtAFailedResetFailed) {
  auto supervisor = Make("fail");
  ASSERT_NE(supervisor, nullptr);
  EXPECT_EQ(Recover(supervisor.get()).message(),
            "systemctl reset-failed web.service: exit 5: Failed to "
            "reset-failed web.service: Unit web.service not found.");
  EXPECT_EQ(testing::ReadFile(log_), "[reset-failed][web.service]\n");
}

TEST_F(SystemdSupervisorTest, RecoverIsBoundByOneTimeout) {
  auto supervisor = Make("hang", {}, seconds(1));
  ASSERT_NE(supervisor, nullptr);
  TimePoint start = loop_.Now();
  EXPECT_EQ(Recover(supervisor.get()).message(),
            "systemctl reset-failed web.service: timed out after 1s");
  EXPECT_GE(loop_.Now() - start, milliseconds(990));
  std::string pid = testing::ReadFile(log_ + ".pid");
  ASSERT_FALSE(pid.empty());
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(std::stoi(pid)); },
                       seconds(10)));
}

TEST_F(SystemdSupervisorTest, DestroyingARecoverKillsSystemctl) {
  auto supervisor = Make("hang");
  ASSERT_NE(supervisor, nullptr);
  bool called = false;
  auto call = supervisor->Recover(program_, [&](Status) { called = true; });
  std::string pidfile = log_ + ".pid";
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; },
                       seconds(30)));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  call.reset();
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(pid); }, seconds(10)));
  loop_.RunOnce(milliseconds(100));
  EXPECT_FALSE(called);
}

TEST_F(SystemdSupervisorTest, OutputWithoutMainPidIsAnError) {
  auto supervisor = Make("garbage");
  ASSERT_NE(supervisor, nullptr);
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(),
            "systemctl show web.service: no MainPID in its output");
}

TEST_F(SystemdSupervisorTest, NonZeroExitGivesExitCodeAndFirstLine) {
  auto supervisor = Make("fail");
  ASSERT_NE(supervisor, nullptr);
  EXPECT_EQ(Act(supervisor.get()).message(),
            "systemctl restart web.service: exit 5: Failed to restart "
            "web.service: Unit web.service not found.");
  EXPECT_EQ(Act(supervisor.get(), true).message(),
            "systemctl start web.service: exit 5: Failed to start "
            "web.service: Unit web.service not found.");
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(),
            "systemctl show web.service: exit 5: Failed to show web.service: "
            "Unit web.service not found.");
}

TEST_F(SystemdSupervisorTest, HangingSystemctlIsKilledAtTheTimeout) {
  auto supervisor = Make("hang", {}, seconds(1));
  ASSERT_NE(supervisor, nullptr);
  TimePoint start = loop_.Now();
  EXPECT_EQ(Act(supervisor.get()).message(),
            "systemctl restart web.service: timed out after 1s");
  EXPECT_GE(loop_.Now() - start, milliseconds(990));
  std::string pid = testing::ReadFile(log_ + ".pid");
  ASSERT_FALSE(pid.empty());
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(std::stoi(pid)); },
                       seconds(10)));
}

TEST_F(SystemdSupervisorTest, MissingSystemctlGivesAClearReason) {
  SupervisorConfig config;
  config.name = "sd";
  config.type = SupervisorType::kSystemd;
  config.systemctl = {"/nonexistent/systemctl"};
  auto supervisor = MakeSupervisor(config, &loop_, nullptr);
  ASSERT_TRUE(supervisor.ok());
  EXPECT_EQ(Act(supervisor->get()).message(),
            "systemctl restart web.service: exec /nonexistent/systemctl: No "
            "such file or directory");
}

TEST_F(SystemdSupervisorTest, DestroyingTheCallKillsSystemctl) {
  auto supervisor = Make("hang");
  ASSERT_NE(supervisor, nullptr);
  bool called = false;
  auto call = supervisor->Restart(program_, [&](Status) { called = true; });
  std::string pidfile = log_ + ".pid";
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; },
                       seconds(30)));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  call.reset();
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(pid); }, seconds(10)));
  loop_.RunOnce(milliseconds(100));
  EXPECT_FALSE(called);
}

TEST_F(SystemdSupervisorTest, CallsOfOnePassShareOneSystemctlShow) {
  auto supervisor = Make("ok");
  ASSERT_NE(supervisor, nullptr);
  auto one = Ask(supervisor.get(), "pid-101.service", "one");
  auto two = Ask(supervisor.get(), "pid-102.service", "two");
  auto again = Ask(supervisor.get(), "pid-101.service", "again");
  auto nosuch = Ask(supervisor.get(), "nosuch.service", "nosuch");
  EXPECT_TRUE(replies_.empty()) << "callback ran inside the call";
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 4; }));
  EXPECT_EQ(testing::ReadFile(log_),
            std::string(kShow) +
                "[pid-101.service][pid-102.service][nosuch.service]\n");
  ASSERT_TRUE(replies_.at("one").status.ok()) << ErrorOf("one");
  EXPECT_EQ(replies_.at("one").status->pid, 101);
  EXPECT_EQ(replies_.at("one").status->state, "active");
  ASSERT_TRUE(replies_.at("two").status.ok()) << ErrorOf("two");
  EXPECT_EQ(replies_.at("two").status->pid, 102);
  ASSERT_TRUE(replies_.at("again").status.ok()) << ErrorOf("again");
  EXPECT_EQ(replies_.at("again").status->pid, 101);
  EXPECT_FALSE(replies_.at("one").unknown_program);
  EXPECT_EQ(ErrorOf("nosuch"), "systemd has no unit 'nosuch.service'");
  EXPECT_TRUE(replies_.at("nosuch").unknown_program);
}

TEST_F(SystemdSupervisorTest, UnknownUnitThroughGetStatus) {
  auto supervisor = Make("stopped");
  ASSERT_NE(supervisor, nullptr);
  program_ = {"web", "nosuch-web.service", 0};
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(),
            "systemd has no unit 'nosuch-web.service'");
}

TEST_F(SystemdSupervisorTest, CancellingOneCallerKeepsTheBatch) {
  auto supervisor = Make("hang", {}, seconds(1));
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a.service", "a");
  auto b = Ask(supervisor.get(), "b.service", "b");
  std::string pidfile = log_ + ".pid";
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; },
                       seconds(30)));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  a.reset();
  EXPECT_FALSE(testing::ProcessDead(pid));
  ASSERT_TRUE(RunUntil([&] { return replies_.count("b") == 1; }));
  EXPECT_EQ(ErrorOf("b"),
            "systemctl show a.service and 1 more: timed out after 1s");
  EXPECT_EQ(replies_.count("a"), 0u);
  EXPECT_EQ(Spawns(), 1u);
}

TEST_F(SystemdSupervisorTest, CancellingEveryCallerKillsSystemctl) {
  auto supervisor = Make("hang");
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a.service", "a");
  auto b = Ask(supervisor.get(), "b.service", "b");
  std::string pidfile = log_ + ".pid";
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; },
                       seconds(30)));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  a.reset();
  b.reset();
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(pid); }, seconds(10)));
  EXPECT_TRUE(replies_.empty());
}

TEST_F(SystemdSupervisorTest, ACallFromACallbackJoinsTheNextBatch) {
  auto supervisor = Make("ok");
  ASSERT_NE(supervisor, nullptr);
  std::unique_ptr<SupervisorCall> again;
  auto first = supervisor->GetStatusReply(
      {"a", "pid-1.service", 0}, [&](StatusReply reply) {
        replies_.emplace("first", reply);
        again = Ask(supervisor.get(), "pid-3.service", "again");
      });
  auto second = Ask(supervisor.get(), "pid-2.service", "second");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 3; }));
  EXPECT_EQ(testing::ReadFile(log_), std::string(kShow) +
                                         "[pid-1.service][pid-2.service]\n" +
                                         kShow + "[pid-3.service]\n");
  ASSERT_TRUE(replies_.at("again").status.ok()) << ErrorOf("again");
  EXPECT_EQ(replies_.at("again").status->pid, 3);
}

TEST_F(SystemdSupervisorTest, AFailedBatchAnswersEveryCaller) {
  auto supervisor = Make("fail");
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a.service", "a");
  auto b = Ask(supervisor.get(), "b.service", "b");
  auto c = Ask(supervisor.get(), "c.service", "c");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 3; }));
  for (const char* tag : {"a", "b", "c"}) {
    EXPECT_EQ(ErrorOf(tag),
              "systemctl show a.service and 2 more: exit 5: Failed to show "
              "c.service: Unit c.service not found.");
    EXPECT_FALSE(replies_.at(tag).unknown_program);
  }
  EXPECT_EQ(Spawns(), 1u);
}

TEST_F(SystemdSupervisorTest, OutputOfTheWrongShapeFailsTheBatch) {
  auto supervisor = Make("garbage");
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a.service", "a");
  auto b = Ask(supervisor.get(), "b.service", "b");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 2; }));
  EXPECT_EQ(ErrorOf("a"),
            "systemctl show a.service and 1 more: answered for 1 of 2 units");
  EXPECT_EQ(ErrorOf("b"), ErrorOf("a"));
}

TEST_F(SystemdSupervisorTest, MakeRejectsAnEmptySystemctl) {
  SupervisorConfig config;
  config.name = "sd";
  config.type = SupervisorType::kSystemd;
  config.systemctl.clear();
  auto supervisor = MakeSupervisor(config, &loop_, nullptr);
  ASSERT_FALSE(supervisor.ok());
  EXPECT_EQ(supervisor.status().message(),
            "supervisor 'sd': type systemd needs a systemctl command");
}

}  // namespace
}  // namespace watchd
