#include "actions/systemd_supervisor.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>

#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

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

  Result<ProgramStatus> Show(Supervisor* supervisor) {
    std::optional<Result<ProgramStatus>> result;
    auto call = supervisor->GetStatus(
        program_, [&](Result<ProgramStatus> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    if (!result) return Status::Error("no result");
    return std::move(*result);
  }

  EventLoop loop_;
  testing::TempDir dir_;
  std::string log_ = dir_.File("systemctl.log");
  ProgramRef program_{"web", "web.service", 0};
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
            "[--user][restart][web.service]\n"
            "[--user][show][-p][MainPID][-p][ActiveState][web.service]\n");
}

TEST_F(SystemdSupervisorTest, GetStatusParsesMainPidAndActiveState) {
  auto supervisor = Make("ok");
  ASSERT_NE(supervisor, nullptr);
  EXPECT_TRUE(supervisor->reports_pid());
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 4242);
  EXPECT_EQ(status->state, "active");
  EXPECT_EQ(testing::ReadFile(log_),
            "[show][-p][MainPID][-p][ActiveState][web.service]\n");
}

TEST_F(SystemdSupervisorTest, MainPidZeroIsNotRunning) {
  auto supervisor = Make("stopped");
  ASSERT_NE(supervisor, nullptr);
  Result<ProgramStatus> status = Show(supervisor.get());
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 0);
  EXPECT_EQ(status->state, "inactive");
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
