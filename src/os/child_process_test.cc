#include "os/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Duration kLong = seconds(60);

std::string ProcPath(pid_t pid) { return "/proc/" + std::to_string(pid); }

// No /proc entry: the process was reaped.
bool Gone(pid_t pid) { return access(ProcPath(pid).c_str(), F_OK) != 0; }

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  template <typename Cond>
  bool RunUntil(Cond cond, Duration limit = seconds(60)) {
    return testing::RunLoopUntil(loop_, cond, limit);
  }

  // Spawns argv and runs the loop until it ends.
  ChildResult Run(const std::vector<std::string>& argv,
                  Duration timeout = kLong, const SpawnOptions& options = {}) {
    std::optional<ChildResult> result;
    auto child = ChildProcess::Spawn(
        &loop_, argv, timeout, [&](const ChildResult& r) { result = r; },
        options);
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    EXPECT_FALSE(child->running());
    return result.value_or(ChildResult{});
  }

  testing::SteppedClock clock_;
  EventLoop loop_{&clock_};
  testing::TempDir dir_;
};

TEST_F(ChildProcessTest, TrueExitsZero) {
  ChildResult r = Run({"/bin/true"});
  EXPECT_EQ(r.kind, ChildResult::kExited);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.success());
  EXPECT_EQ(r.Describe(), "exit 0");
  EXPECT_EQ(r.output, "");
  EXPECT_GT(r.elapsed, Duration::zero());
}

TEST_F(ChildProcessTest, FalseExitsOne) {
  ChildResult r = Run({"/bin/false"});
  EXPECT_EQ(r.kind, ChildResult::kExited);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.success());
  EXPECT_EQ(r.Describe(), "exit 1");
}

TEST_F(ChildProcessTest, CapturesStdoutAndStderrAndExitCode) {
  ChildResult r = Run({"sh", "-c", "echo hi; echo oops >&2; exit 3"});
  EXPECT_EQ(r.kind, ChildResult::kExited);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "hi\noops\n");
  EXPECT_FALSE(r.output_truncated);
  EXPECT_EQ(r.Describe(), "exit 3");
}

TEST_F(ChildProcessTest, ArgumentsAreNotInterpretedByAShell) {
  ChildResult r = Run({"/bin/echo", "a b", "$HOME", "*", ";", "`id`"});
  EXPECT_EQ(r.output, "a b $HOME * ; `id`\n");
}

TEST_F(ChildProcessTest, StdinIsDevNull) {
  ChildResult r = Run({"readlink", "/proc/self/fd/0"});
  EXPECT_EQ(r.output, "/dev/null\n");
  // A reader of stdin sees EOF at once rather than hanging.
  EXPECT_EQ(Run({"cat"}).kind, ChildResult::kExited);
}

TEST_F(ChildProcessTest, InheritsNoOtherFileDescriptors) {
  int leaky = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 3);
  ChildResult r = Run({"ls", "/proc/self/fd"});
  close(leaky);
  std::set<std::string> fds;
  std::istringstream in(r.output);
  for (std::string fd; in >> fd;) fds.insert(fd);
  // 3 is the directory ls itself opened to list /proc/self/fd.
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"})) << r.output;
}

TEST_F(ChildProcessTest, SignalMaskIsEmptyAndDispositionsDefault) {
  // As on the daemon's loop thread, which blocks its signalfd's signals.
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : {SIGTERM, SIGHUP, SIGINT, SIGCHLD, SIGUSR1})
    sigaddset(&block, s);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  struct sigaction ignore {
  }, old_pipe{}, old_usr2{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old_pipe);
  sigaction(SIGUSR2, &ignore, &old_usr2);

  ChildResult r = Run({"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"});

  sigaction(SIGUSR2, &old_usr2, nullptr);
  sigaction(SIGPIPE, &old_pipe, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(r.output, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_F(ChildProcessTest, ChildLeadsItsOwnProcessGroup) {
  auto child = ChildProcess::Spawn(&loop_, {"sleep", "1000"}, kLong,
                                   [](const ChildResult&) {});
  ASSERT_TRUE(child->running());
  std::string stat = testing::ReadFile(ProcPath(child->pid()) + "/stat");
  // Fields after "(comm)": state ppid pgrp.
  std::istringstream in(stat.substr(stat.rfind(')') + 2));
  std::string state;
  pid_t ppid = 0, pgrp = 0;
  in >> state >> ppid >> pgrp;
  EXPECT_EQ(ppid, getpid());
  EXPECT_EQ(pgrp, child->pid());
}

TEST_F(ChildProcessTest, ExtraEnvironmentIsAddedOrReplaces) {
  setenv("LANG", "C.UTF-8", 1);
  setenv("LC_TIME", "C", 1);
  SpawnOptions options;
  options.env = {"LC_TIME=POSIX", "WATCHD_TEST_ADDED=a=b"};
  ChildResult r = Run({"/bin/sh", "-c",
                       "echo $LANG $LC_TIME $WATCHD_TEST_ADDED; env | grep -c "
                       "^LC_TIME="},
                      kLong, options);
  EXPECT_TRUE(r.success()) << r.Describe();
  EXPECT_EQ(r.output, "C.UTF-8 POSIX a=b\n1\n");
}

// A child gets where programs are and how to speak, and nothing else of
// the daemon's environment: not systemd's sockets and descriptors, not a
// secret.
TEST_F(ChildProcessTest, OnlyAMinimalEnvironmentIsHandedDown) {
  const char* secrets[] = {"NOTIFY_SOCKET",  "WATCHDOG_USEC",
                           "WATCHDOG_PID",   "LISTEN_FDS",
                           "JOURNAL_STREAM", "WATCHD_TEST_TOKEN"};
  for (const char* name : secrets) setenv(name, "inherited", 1);
  setenv("TZ", "UTC", 1);
  ChildResult r = Run({"/usr/bin/env"}, kLong);
  for (const char* name : secrets) unsetenv(name);
  ASSERT_TRUE(r.success()) << r.Describe();
  EXPECT_EQ(r.output.find("inherited"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\nTZ=UTC\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PATH="), std::string::npos) << r.output;
}

// With no PATH of its own, the daemon hands down systemd's default one.
TEST_F(ChildProcessTest, APathIsAlwaysHandedDown) {
  const char* old = getenv("PATH");
  const std::string saved = old != nullptr ? old : "";
  unsetenv("PATH");
  ChildResult r = Run({"/usr/bin/env"}, kLong);
  setenv("PATH", saved.c_str(), 1);
  ASSERT_TRUE(r.success()) << r.Describe();
  EXPECT_NE(r.output.find("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                          "/usr/bin:/sbin:/bin\n"),
            std::string::npos)
      << r.output;
}

TEST_F(ChildProcessTest, SearchesPath) {
  ChildResult r = Run({"true"});
  EXPECT_TRUE(r.success()) << r.Describe();
}

TEST_F(ChildProcessTest, NoSuchFileIsASpawnFailureReportedOnTheLoop) {
  std::optional<ChildResult> result;
  auto child = ChildProcess::Spawn(&loop_, {"/no/such"}, kLong,
                                   [&](const ChildResult& r) { result = r; });
  EXPECT_FALSE(result.has_value()) << "reported from within Spawn";
  EXPECT_FALSE(child->running());
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->kind, ChildResult::kSpawnFailed);
  EXPECT_EQ(result->Describe(), "exec /no/such: No such file or directory");
}

TEST_F(ChildProcessTest, NotExecutableIsASpawnFailure) {
  std::string path = dir_.File("script");
  ASSERT_TRUE(testing::WriteFile(path, "#!/bin/sh\nexit 0\n"));
  chmod(path.c_str(), 0644);
  ChildResult r = Run({path});
  EXPECT_EQ(r.kind, ChildResult::kSpawnFailed);
  EXPECT_EQ(r.Describe(), "exec " + path + ": Permission denied");
}

TEST_F(ChildProcessTest, UnknownCommandIsASpawnFailure) {
  ChildResult r = Run({"watchd-no-such-command"});
  EXPECT_EQ(r.kind, ChildResult::kSpawnFailed);
  EXPECT_EQ(r.Describe(),
            "exec watchd-no-such-command: No such file or directory");
}

TEST_F(ChildProcessTest, EmptyArgvIsASpawnFailure) {
  EXPECT_EQ(Run({}).Describe(), "empty command");
}

TEST_F(ChildProcessTest, TimeoutKillsTheWholeProcessGroup) {
  std::string pidfile = dir_.File("grandchild.pid");
  std::optional<ChildResult> result;
  auto child = ChildProcess::Spawn(
      &loop_,
      {"/bin/sh", testing::SourcePath("tests/servers/exec_grandchild.sh"),
       pidfile},
      seconds(2), [&](const ChildResult& r) { result = r; });
  pid_t pid = child->pid();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(RunUntil([&] {
    return result.has_value() || access(pidfile.c_str(), F_OK) == 0;
  }));
  pid_t grandchild = std::stoi(testing::ReadFile(pidfile));
  ASSERT_FALSE(testing::ProcessDead(grandchild))
      << "it should live until the timeout";

  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->kind, ChildResult::kTimedOut);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_EQ(result->Describe(), "timed out after 2s");
  EXPECT_GE(result->elapsed, seconds(2));
  EXPECT_TRUE(Gone(pid)) << "the child itself is reaped";
  EXPECT_TRUE(testing::WaitFor([&] { return testing::ProcessDead(grandchild); },
                               milliseconds(10000)));
}

TEST_F(ChildProcessTest, KillEndsTheRunAsSignaled) {
  std::optional<ChildResult> result;
  auto child = ChildProcess::Spawn(&loop_, {"sleep", "1000"}, kLong,
                                   [&](const ChildResult& r) { result = r; });
  ASSERT_TRUE(child->running());
  child->Kill();
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(result->kind, ChildResult::kSignaled);
  EXPECT_EQ(result->signal, SIGKILL);
  EXPECT_EQ(result->Describe(), "killed by signal 9");
  child->Kill();  // reaped: a no-op
}

TEST_F(ChildProcessTest, DestroyWhileRunningLeavesNoZombie) {
  bool called = false;
  auto child = ChildProcess::Spawn(&loop_, {"sleep", "1000"}, kLong,
                                   [&](const ChildResult&) { called = true; });
  pid_t pid = child->pid();
  ASSERT_GT(pid, 0);
  child.reset();
  // The loop runs while the child dies: a run still watched would see its
  // exit (the pidfd turns readable before the reap), and after the jump its
  // deadline; both are handled once the loop has run past them.
  EXPECT_TRUE(RunUntil([&] { return Gone(pid); }, seconds(10)));
  clock_.Advance(kLong);
  ASSERT_TRUE(testing::RunLoopPastPending(loop_));
  EXPECT_FALSE(called);
}

TEST_F(ChildProcessTest, DestroyWhileRunningKillsGrandchildren) {
  std::string pidfile = dir_.File("grandchild.pid");
  auto child = ChildProcess::Spawn(
      &loop_,
      {"/bin/sh", testing::SourcePath("tests/servers/exec_grandchild.sh"),
       pidfile},
      kLong, [](const ChildResult&) {});
  pid_t pid = child->pid();
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; }));
  pid_t grandchild = std::stoi(testing::ReadFile(pidfile));
  child.reset();
  EXPECT_TRUE(testing::WaitFor(
      [&] { return Gone(pid) && testing::ProcessDead(grandchild); },
      milliseconds(10000)));
}

TEST_F(ChildProcessTest, DoneMayDestroyTheChild) {
  std::unique_ptr<ChildProcess> child;
  std::optional<ChildResult> result;
  child = ChildProcess::Spawn(&loop_, {"sh", "-c", "echo bye"}, kLong,
                              [&](const ChildResult& r) {
                                child.reset();
                                result = r;
                              });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(child, nullptr);
  EXPECT_EQ(result->output, "bye\n");
}

// The exit callback may start the next child in place of this one, which
// destroys the ChildProcess whose callback is running; Kill is a no-op by
// then.
TEST_F(ChildProcessTest, DoneMayReplaceTheChildWithAnother) {
  std::unique_ptr<ChildProcess> child;
  std::vector<std::string> outputs;
  std::function<void(const ChildResult&)> done = [&](const ChildResult& r) {
    outputs.push_back(r.output);
    child->Kill();
    child = outputs.size() < 3
                ? ChildProcess::Spawn(&loop_, {"sh", "-c", "echo again"}, kLong,
                                      done)
                : nullptr;
  };
  child = ChildProcess::Spawn(&loop_, {"sh", "-c", "echo first"}, kLong, done);
  ASSERT_TRUE(RunUntil([&] { return outputs.size() == 3; }));
  EXPECT_EQ(child, nullptr);
  EXPECT_EQ(outputs,
            (std::vector<std::string>{"first\n", "again\n", "again\n"}));
}

// A spawn failure is reported from a timer; its callback may destroy the
// ChildProcess (and so that timer) too.
TEST_F(ChildProcessTest, DoneOfASpawnFailureMayDestroyTheChild) {
  std::unique_ptr<ChildProcess> child;
  std::optional<ChildResult> result;
  child = ChildProcess::Spawn(&loop_, {"/no/such/command"}, kLong,
                              [&](const ChildResult& r) {
                                child.reset();
                                result = r;
                              });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(child, nullptr);
  EXPECT_EQ(result->kind, ChildResult::kSpawnFailed);
  EXPECT_EQ(loop_.pending_timers(), 0u);
}

TEST_F(ChildProcessTest, HugeOutputIsBoundedAndNeverBlocksTheChild) {
  ChildResult r = Run({"head", "-c", "10485760", "/dev/zero"});
  EXPECT_EQ(r.kind, ChildResult::kExited) << r.Describe();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.size(), 4096u);
  EXPECT_TRUE(r.output_truncated);

  SpawnOptions small;
  small.max_output = 10;
  r = Run({"sh", "-c", "echo 0123456789abcdef"}, kLong, small);
  EXPECT_EQ(r.output, "0123456789");
  EXPECT_TRUE(r.output_truncated);
}

TEST_F(ChildProcessTest, DoesNotWaitForAGrandchildHoldingThePipe) {
  // The grandchild keeps stdout open; the run ends when the child exits.
  ChildResult r = Run({"sh", "-c", "sleep 1000 & echo $!"});
  EXPECT_EQ(r.kind, ChildResult::kExited);
  ASSERT_FALSE(r.output.empty());
  pid_t grandchild = std::stoi(r.output);
  EXPECT_FALSE(testing::ProcessDead(grandchild))
      << "a normal exit leaves the group alone";
  kill(grandchild, SIGKILL);
}

TEST_F(ChildProcessTest, ManyConcurrentChildrenAllComplete) {
  constexpr int kChildren = 100;
  int exited_zero = 0, done = 0;
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int i = 0; i < kChildren; ++i) {
    children.push_back(ChildProcess::Spawn(&loop_, {"/bin/true"}, kLong,
                                           [&](const ChildResult& r) {
                                             ++done;
                                             if (r.success()) ++exited_zero;
                                           }));
  }
  ASSERT_TRUE(RunUntil([&] { return done == kChildren; }));
  EXPECT_EQ(exited_zero, kChildren);
  for (const auto& c : children) EXPECT_FALSE(c->running());
}

TEST(CheckExecutableTest, AcceptsPathsAndNamesOnPath) {
  EXPECT_TRUE(CheckExecutable("/bin/sh").ok());
  EXPECT_TRUE(CheckExecutable("sh").ok());
}

TEST(CheckExecutableTest, RejectsWithAReason) {
  testing::TempDir dir;
  std::string plain = dir.File("plain");
  ASSERT_TRUE(testing::WriteFile(plain, "#!/bin/sh\n"));
  chmod(plain.c_str(), 0644);
  EXPECT_EQ(CheckExecutable(plain).message(), plain + ": not executable");
  EXPECT_EQ(CheckExecutable(dir.path()).message(),
            dir.path() + ": not a regular file");
  EXPECT_EQ(CheckExecutable("/no/such").message(),
            "/no/such: No such file or directory");
  EXPECT_EQ(CheckExecutable("watchd-no-such-command").message(),
            "watchd-no-such-command: not found on PATH");
  EXPECT_EQ(CheckExecutable("").message(), "empty command");
}

}  // namespace
}  // namespace watchd
