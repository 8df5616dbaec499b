#include "actions/command_supervisor.h"

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

::testing::AssertionResult Contains(const std::string& text,
                                    const std::string& part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}

class CommandSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  template <typename Cond>
  bool RunUntil(Cond cond, Duration limit = seconds(60)) {
    return testing::RunLoopUntil(loop_, cond, limit);
  }

  std::unique_ptr<Supervisor> Make(std::vector<std::string> restart,
                                   std::vector<std::string> start = {},
                                   Duration timeout = seconds(60)) {
    SupervisorConfig config;
    config.name = "custom";
    config.type = SupervisorType::kCommand;
    config.restart = std::move(restart);
    config.start = std::move(start);
    config.timeout = timeout;
    auto supervisor = MakeSupervisor(config, &loop_, nullptr);
    EXPECT_TRUE(supervisor.ok()) << supervisor.status().message();
    return supervisor.ok() ? std::move(*supervisor) : nullptr;
  }

  // Runs Restart (or Start) to its end; checks that the callback did not
  // run inside the call.
  Status Run(Supervisor* supervisor, const ProgramRef& program,
             bool start = false) {
    std::optional<Status> result;
    auto call =
        start ? supervisor->Start(program, [&](Status s) { result = s; })
              : supervisor->Restart(program, [&](Status s) { result = s; });
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(Status::Error("no result"));
  }

  // An argv that writes its arguments, each in brackets, to `out`.
  std::vector<std::string> Recorder(const std::string& out,
                                    std::vector<std::string> args) {
    std::vector<std::string> argv = {"/bin/sh", "-c",
                                     "printf '[%s]' \"$@\" > " + out, "sh"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

  EventLoop loop_;
  testing::TempDir dir_;
};

TEST_F(CommandSupervisorTest, SubstitutesWholeArgumentsOnly) {
  std::string out = dir_.File("argv");
  auto supervisor = Make(Recorder(out, {"{program}", "{service}", "{pid}",
                                        "x{pid}", "{pid}.log", "{unknown}"}));
  ASSERT_NE(supervisor, nullptr);
  Status status = Run(supervisor.get(), {"web", "web prog; rm -rf /", 1234});
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(testing::ReadFile(out),
            "[web prog; rm -rf /][web][1234][x{pid}][{pid}.log][{unknown}]");
}

TEST_F(CommandSupervisorTest, StartRunsTheStartCommand) {
  std::string out = dir_.File("argv");
  auto supervisor = Make(Recorder(out, {"restart", "{program}"}),
                         Recorder(out, {"start", "{program}"}));
  ASSERT_NE(supervisor, nullptr);
  Status status = Run(supervisor.get(), {"web", "webapp", 0}, /*start=*/true);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(testing::ReadFile(out), "[start][webapp]");
}

TEST_F(CommandSupervisorTest, StartFallsBackToTheRestartCommand) {
  std::string out = dir_.File("argv");
  auto supervisor = Make(Recorder(out, {"restart", "{program}"}));
  ASSERT_NE(supervisor, nullptr);
  Status status = Run(supervisor.get(), {"web", "webapp", 0}, /*start=*/true);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(testing::ReadFile(out), "[restart][webapp]");
}

TEST_F(CommandSupervisorTest, NonZeroExitGivesTheFirstLineOfOutput) {
  auto supervisor = Make(
      {"/bin/sh", "-c", "echo; echo '  disk full  ' >&2; echo more; exit 3"});
  ASSERT_NE(supervisor, nullptr);
  Status status = Run(supervisor.get(), {"web", "web", 1});
  EXPECT_EQ(status.message(), "restart command exit 3: disk full");
}

TEST_F(CommandSupervisorTest, NonZeroExitWithoutOutput) {
  auto supervisor = Make({"/bin/sh", "-c", "exit 7"}, {"/bin/false"});
  ASSERT_NE(supervisor, nullptr);
  EXPECT_EQ(Run(supervisor.get(), {"web", "web", 1}).message(),
            "restart command exit 7");
  EXPECT_EQ(Run(supervisor.get(), {"web", "web", 1}, true).message(),
            "start command exit 1");
}

TEST_F(CommandSupervisorTest, HangIsKilledWithItsProcessGroupAtTheTimeout) {
  // The script ignores SIGTERM and leaves a grandchild in its group.
  std::string pidfile = dir_.File("grandchild.pid");
  auto supervisor =
      Make({testing::SourcePath("tests/servers/exec_grandchild.sh"), pidfile},
           {}, seconds(1));
  ASSERT_NE(supervisor, nullptr);
  TimePoint start = loop_.Now();
  Status status = Run(supervisor.get(), {"web", "web", 1});
  EXPECT_EQ(status.message(), "restart command timed out after 1s");
  EXPECT_GE(loop_.Now() - start, milliseconds(990));
  std::string grandchild = testing::ReadFile(pidfile);
  ASSERT_FALSE(grandchild.empty());
  pid_t pid = std::stoi(grandchild);
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(pid); }, seconds(10)));
}

TEST_F(CommandSupervisorTest, MissingCommandGivesAClearReason) {
  auto supervisor = Make({"/nonexistent/bounce", "{program}"});
  ASSERT_NE(supervisor, nullptr);
  Status status = Run(supervisor.get(), {"web", "web", 1});
  EXPECT_TRUE(Contains(status.message(), "restart command: "));
  EXPECT_TRUE(Contains(status.message(), "/nonexistent/bounce"));
  EXPECT_TRUE(Contains(status.message(), "No such file or directory"));
}

TEST_F(CommandSupervisorTest, PidPlaceholderWithoutPidFailsWithoutRunning) {
  std::string out = dir_.File("argv");
  auto supervisor = Make(Recorder(out, {"kill", "{pid}"}));
  ASSERT_NE(supervisor, nullptr);
  Status status = Run(supervisor.get(), {"web", "webapp", 0});
  EXPECT_EQ(status.message(),
            "restart command needs {pid}, but 'web' has no process");
  EXPECT_NE(access(out.c_str(), F_OK), 0) << "the command ran";
}

TEST_F(CommandSupervisorTest, CannotReportPids) {
  auto supervisor = Make({"/bin/true"});
  ASSERT_NE(supervisor, nullptr);
  EXPECT_FALSE(supervisor->reports_pid());
  std::optional<Result<ProgramStatus>> result;
  auto call = supervisor->GetStatus(
      {"web", "web", 1}, [&](Result<ProgramStatus> r) { result = r; });
  EXPECT_FALSE(result.has_value());
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  ASSERT_FALSE(result->ok());
  EXPECT_EQ(result->status().message(),
            "the command supervisor cannot report pids; give the service a "
            "pidfile");
}

TEST_F(CommandSupervisorTest, DestroyingTheCallKillsTheCommand) {
  std::string pidfile = dir_.File("grandchild.pid");
  auto supervisor =
      Make({testing::SourcePath("tests/servers/exec_grandchild.sh"), pidfile});
  ASSERT_NE(supervisor, nullptr);
  bool called = false;
  auto call =
      supervisor->Restart({"web", "web", 1}, [&](Status) { called = true; });
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; },
                       seconds(30)));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  call.reset();
  EXPECT_TRUE(RunUntil([&] { return testing::ProcessDead(pid); }, seconds(10)));
  loop_.RunOnce(milliseconds(100));
  EXPECT_FALSE(called);
}

TEST_F(CommandSupervisorTest, SupervisorMayGoBeforeItsCalls) {
  std::string out = dir_.File("argv");
  auto supervisor = Make(Recorder(out, {"{program}"}));
  ASSERT_NE(supervisor, nullptr);
  std::optional<Status> result;
  auto call =
      supervisor->Restart({"web", "webapp", 0}, [&](Status s) { result = s; });
  supervisor.reset();
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_TRUE(result->ok()) << result->message();
  EXPECT_EQ(testing::ReadFile(out), "[webapp]");
}

TEST_F(CommandSupervisorTest, MakeRejectsWhatCannotWork) {
  SupervisorConfig config;
  config.name = "custom";
  config.type = SupervisorType::kCommand;
  auto no_restart = MakeSupervisor(config, &loop_, nullptr);
  ASSERT_FALSE(no_restart.ok());
  EXPECT_EQ(no_restart.status().message(),
            "supervisor 'custom': type command needs a 'restart' command");
  config.restart = {"/bin/true"};
  config.timeout = Duration::zero();
  auto no_timeout = MakeSupervisor(config, &loop_, nullptr);
  ASSERT_FALSE(no_timeout.ok());
  EXPECT_EQ(no_timeout.status().message(),
            "supervisor 'custom': timeout must be positive");
}

}  // namespace
}  // namespace watchd
