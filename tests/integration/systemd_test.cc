// watchd under systemd: the unit file, sd_notify against a stand-in
// NOTIFY_SOCKET (READY, STATUS, WATCHDOG, STOPPING), and SIGTERM letting
// a restart in flight finish.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/notify_socket.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool ExitedWith(const std::optional<int>& status, int code) {
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

std::string FindOnPath(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin"}) {
    std::string path = std::string(dir) + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

// The shipped unit, with its /usr/bin programs pointed at stand-ins (the
// verifier insists they exist), as systemd itself would load it.
TEST(Systemd, UnitFileVerifies) {
  const std::string analyze = FindOnPath("systemd-analyze");
  if (analyze.empty()) {
    GTEST_SKIP() << "systemd-analyze is not installed (Debian package "
                    "'systemd', see scripts/deps.sh --test)";
  }
  TempDir dir;
  for (const char* program : {"watchd", "watchctl"}) {
    const std::string path = dir.File(program);
    ASSERT_TRUE(WriteFile(path, "#!/bin/sh\n"));
    ASSERT_EQ(chmod(path.c_str(), 0755), 0);
  }
  std::string unit = ReadFile(SourcePath("systemd/watchd.service"));
  ASSERT_FALSE(unit.empty());
  for (size_t at = unit.find("/usr/bin/"); at != std::string::npos;
       at = unit.find("/usr/bin/", at)) {
    unit.replace(at, 9, dir.path() + "/");
  }
  const std::string unit_path = dir.File("watchd.service");
  ASSERT_TRUE(WriteFile(unit_path, unit));

  Subprocess verify;
  // --man=no: the Documentation= man page is installed with the package.
  ASSERT_TRUE(verify.Start({analyze, "verify", "--man=no", unit_path},
                           dir.File("out")));
  auto status = verify.Wait(seconds(60));
  const std::string out = ReadFile(dir.File("out"));
  EXPECT_TRUE(ExitedWith(status, 0)) << out;
  // Unknown or misspelt settings are only warnings: none may appear.
  EXPECT_EQ(out, "") << out;
}

// A service whose one check passes while `flag` exists.
std::string FlagService(const std::string& flag) {
  return "  web:\n"
         "    checks:\n"
         "      health:\n"
         "        exec: [/usr/bin/test, -e, " +
         flag +
         "]\n"
         "        interval: 200ms\n"
         "        failures: 1\n";
}

TEST(Systemd, NotifiesReadyStatusWatchdogAndStopping) {
  NotifySocket notify;
  ASSERT_TRUE(notify.ok());
  TempDir dir;
  const std::string flag = dir.File("healthy");
  ASSERT_TRUE(WriteFile(flag, ""));
  WatchdProcess watchd(FlagService(flag));
  // Pings every second.
  watchd.SetEnv({notify.Env(), "WATCHDOG_USEC=2000000"}, "WATCHDOG_PID");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  const pid_t pid = watchd.process().pid();

  auto ready = notify.WaitFor("READY=1", seconds(20));
  ASSERT_TRUE(ready) << watchd.Log();
  EXPECT_EQ(ready->pid, pid);
  EXPECT_EQ(ready->Value("STATUS"), "1 service: 1 ok");

  ASSERT_EQ(unlink(flag.c_str()), 0);
  auto failing = notify.WaitFor(
      [](const NotifyMessage& m) {
        return m.Value("STATUS") == "1 service: 1 failing";
      },
      seconds(20));
  EXPECT_TRUE(failing) << watchd.Log();
  // And back: the line after the last change always follows.
  const size_t seen = notify.Messages().size();
  ASSERT_TRUE(WriteFile(flag, ""));
  EXPECT_TRUE(WaitFor(
      [&] {
        const auto& messages = notify.Messages();
        for (size_t i = seen; i < messages.size(); ++i) {
          if (messages[i].Value("STATUS") == "1 service: 1 ok") return true;
        }
        return false;
      },
      seconds(20)))
      << watchd.Log();

  EXPECT_TRUE(
      WaitFor([&] { return notify.Count("WATCHDOG=1") >= 2; }, seconds(20)))
      << watchd.Log();
  for (const NotifyMessage& m : notify.Messages()) {
    EXPECT_EQ(m.pid, pid) << m.text;
  }

  ASSERT_TRUE(watchd.process().Signal(SIGTERM));
  auto stopping = notify.WaitFor("STOPPING=1", seconds(20));
  ASSERT_TRUE(stopping) << watchd.Log();
  EXPECT_EQ(stopping->Value("STATUS"), "stopping");
  EXPECT_TRUE(ExitedWith(watchd.process().Wait(seconds(20)), 0))
      << watchd.Log();
}

TEST(Systemd, NoWatchdogPingsForAnotherPid) {
  NotifySocket notify;
  ASSERT_TRUE(notify.ok());
  TempDir dir;
  const std::string flag = dir.File("healthy");
  ASSERT_TRUE(WriteFile(flag, ""));
  WatchdProcess watchd(FlagService(flag));
  // WATCHDOG_PID names the process systemd watches; watchd inherited the
  // variables from it (pid 1 is never a test's child).
  watchd.SetEnv({notify.Env(), "WATCHDOG_USEC=400000", "WATCHDOG_PID=1"});
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(notify.WaitFor("READY=1", seconds(20))) << watchd.Log();
  // Long enough for several pings at 200 ms: the check failing and back.
  ASSERT_EQ(unlink(flag.c_str()), 0);
  ASSERT_TRUE(notify.WaitFor(
      [](const NotifyMessage& m) {
        return m.Value("STATUS") == "1 service: 1 failing";
      },
      seconds(20)));
  ASSERT_TRUE(WriteFile(flag, ""));
  ASSERT_TRUE(notify.WaitFor(
      [](const NotifyMessage& m) {
        return m.Value("STATUS") == "1 service: 1 ok" && !m.Has("READY=1");
      },
      seconds(20)));
  EXPECT_EQ(notify.Count("WATCHDOG=1"), 0);
}

// The loop cannot be blocked from outside short of stopping the whole
// process, which is also what a frozen cgroup or a host under swap does:
// the watchdog timer then fires late, and that late timer must not ping.
TEST(Systemd, AStalledLoopSkipsThePingAndPingsAgainOnceOnTime) {
  NotifySocket notify;
  ASSERT_TRUE(notify.ok());
  TempDir dir;
  const std::string flag = dir.File("healthy");
  ASSERT_TRUE(WriteFile(flag, ""));
  WatchdProcess watchd(FlagService(flag));
  // WatchdogSec=2s: a ping every 1 s, skipped when its timer is 0.5 s late.
  watchd.SetEnv({notify.Env(), "WATCHDOG_USEC=2000000"}, "WATCHDOG_PID");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(notify.WaitFor("WATCHDOG=1", seconds(20))) << watchd.Log();

  ASSERT_TRUE(watchd.process().Signal(SIGSTOP));
  const int before = notify.Count("WATCHDOG=1");
  // Stalled until the last ping seen is 2.5 s old (WatchdogSec has passed
  // without one): the next ping's timer then fires at least 1.5 s late.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::optional<std::chrono::steady_clock::time_point> last;
        for (const auto& m : notify.Messages()) {
          if (m.Has("WATCHDOG=1")) last = m.at;
        }
        return last &&
               std::chrono::steady_clock::now() - *last >= milliseconds(2500);
      },
      seconds(20)));
  EXPECT_EQ(notify.Count("WATCHDOG=1"), before) << "no ping while stopped";
  ASSERT_TRUE(watchd.process().Signal(SIGCONT));

  ASSERT_TRUE(watchd.WaitForLog("behind its schedule", seconds(20)))
      << watchd.Log();
  ASSERT_TRUE(watchd.WaitForLog("back on schedule; pings resume", seconds(20)))
      << watchd.Log();
  EXPECT_TRUE(WaitFor([&] { return notify.Count("WATCHDOG=1") > before; },
                      seconds(20)));
  // The late timer sent nothing: the log says it skipped, and says so
  // before the ping that resumed.
  const std::string log = watchd.Log();
  EXPECT_LT(log.find("behind its schedule"),
            log.find("back on schedule; pings resume"));
}

// The restart of `web` through a command that reports it has started,
// then blocks on a FIFO until the test writes to it, then leaves a marker.
class SystemdStopDuringRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(notify_.ok());
    ASSERT_EQ(mkfifo(dir_.File("fifo").c_str(), 0600), 0);
    ASSERT_TRUE(WriteFile(dir_.File("restart.sh"),
                          "touch \"$1/started\"\n"
                          "read line < \"$1/fifo\"\n"
                          "touch \"$1/done\"\n"));
    watchd_ = std::make_unique<WatchdProcess>(
        "  web:\n"
        "    supervisor: cmd\n"
        "    checks:\n"
        "      health:\n"
        "        exec: [/bin/false]\n"
        "        interval: 200ms\n"
        "        failures: 1\n"
        "        on_failure: restart\n",
        "supervisors:\n"
        "  cmd:\n"
        "    type: command\n"
        "    restart: [/bin/sh, " +
            dir_.File("restart.sh") + ", " + dir_.path() +
            "]\n"
            "    timeout: 30s\n");
    watchd_->SetEnv({notify_.Env()});
    ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
    ASSERT_TRUE(WaitFor([&] { return Exists("started"); }, seconds(30)))
        << watchd_->Log();
  }

  void TearDown() override {
    // Whatever happened, the command must not stay blocked on the FIFO.
    Release();
  }

  bool Exists(const std::string& name) const {
    return std::filesystem::exists(dir_.File(name));
  }

  // Lets the restart command go on; false while it has not opened the
  // FIFO (or is gone).
  bool Release() {
    int fd = open(dir_.File("fifo").c_str(), O_WRONLY | O_NONBLOCK);
    if (fd < 0) return false;
    bool ok = write(fd, "go\n", 3) == 3;
    close(fd);
    return ok;
  }

  NotifySocket notify_;
  TempDir dir_;
  std::unique_ptr<WatchdProcess> watchd_;
};

TEST_F(SystemdStopDuringRestart, SigtermWaitsForItThenExitsZero) {
  ASSERT_TRUE(watchd_->process().Signal(SIGTERM));
  ASSERT_TRUE(
      watchd_->WaitForLog("for the restart of web to finish", seconds(20)))
      << watchd_->Log();
  auto stopping = notify_.WaitFor("STOPPING=1", seconds(20));
  ASSERT_TRUE(stopping);
  EXPECT_EQ(stopping->Value("STATUS"),
            "stopping: waiting for the restart of web");
  EXPECT_TRUE(watchd_->process().running());
  EXPECT_FALSE(Exists("done"));

  // The command is still running (watchd did not kill it): it has the FIFO
  // open, and finishes once written to.
  ASSERT_TRUE(WaitFor([&] { return Release(); }, seconds(20)));
  EXPECT_TRUE(ExitedWith(watchd_->process().Wait(seconds(30)), 0))
      << watchd_->Log();
  EXPECT_TRUE(Exists("done"));
  EXPECT_NE(watchd_->Log().find("service web: the supervisor is done"),
            std::string::npos)
      << watchd_->Log();
}

TEST_F(SystemdStopDuringRestart, ASecondSigtermStopsAtOnce) {
  ASSERT_TRUE(watchd_->process().Signal(SIGTERM));
  ASSERT_TRUE(
      watchd_->WaitForLog("for the restart of web to finish", seconds(20)))
      << watchd_->Log();
  ASSERT_TRUE(watchd_->process().Signal(SIGTERM));
  EXPECT_TRUE(ExitedWith(watchd_->process().Wait(seconds(20)), 0))
      << watchd_->Log();
  EXPECT_NE(watchd_->Log().find("stopping now, abandoning the restart of web"),
            std::string::npos)
      << watchd_->Log();
  // Abandoned: its process group was killed, so nobody reads the FIFO.
  EXPECT_TRUE(WaitFor([&] { return !Release(); }, seconds(20)));
  EXPECT_FALSE(Exists("done"));
}

TEST(Systemd, SigtermWithNothingInFlightExitsPromptly) {
  NotifySocket notify;
  ASSERT_TRUE(notify.ok());
  TempDir dir;
  const std::string flag = dir.File("healthy");
  ASSERT_TRUE(WriteFile(flag, ""));
  WatchdProcess watchd(FlagService(flag));
  watchd.SetEnv({notify.Env()});
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(notify.WaitFor("READY=1", seconds(20)));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(watchd.process().Signal(SIGTERM));
  EXPECT_TRUE(ExitedWith(watchd.process().Wait(seconds(20)), 0))
      << watchd.Log();
  // Nothing to wait for: the loop stops in the signal's own pass.
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", seconds(1)));
  EXPECT_EQ(watchd.Log().find("waiting up to"), std::string::npos);
}

}  // namespace
}  // namespace watchd::testing
