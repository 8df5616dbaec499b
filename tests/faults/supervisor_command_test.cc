// A command supervisor whose restart command misbehaves: it leaves a
// daemon behind, never exits, or floods its output. See
// docs/reliability.md, "Fault matrix".
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "tests/support/http_server.h"
#include "tests/support/net.h"
#include "tests/support/on_schedule.h"
#include "tests/support/subprocess.h"
#include "tests/support/supervision_e2e.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

// A hung app (web_app.py answering 503 on /health while its process lives,
// found through its pidfile) under a command supervisor whose restart is
// `restart` (YAML flow list), with a 2 s timeout.
class HungApp {
 public:
  explicit HungApp(const std::string& restart) : port_(FreePort()) {
    const std::string pidfile = dir_.File("app.pid");
    started_ = app_.Start(WebApp(port_, {"--pid-file", pidfile}),
                          dir_.File("app.log"));
    ready_ = started_ && sentinel_.WaitReady() &&
             WaitFor([&] { return AppPid(port_) == app_.pid(); }, kDeadline);
    watchd_ = std::make_unique<WatchdProcess>(
        SentinelService(sentinel_) +
            Service("app", HttpCheck("health", Url(port_, "/health")), "10s",
                    "1s", "    pidfile: " + pidfile + "\n"),
        "supervisors:\n  main:\n    type: command\n    restart: " + restart +
            "\n    timeout: 2s\n");
  }
  // Starts watchd, waits for the app to settle, then makes it sick.
  ::testing::AssertionResult Start() {
    if (!ready_) return ::testing::AssertionFailure() << "app did not start";
    if (!watchd_->Start()) {
      return ::testing::AssertionFailure() << "watchd: " << watchd_->Log();
    }
    ::testing::AssertionResult settled = Settled(*watchd_, "app", "health");
    if (!settled) return settled;
    int status = 0;
    if (!HttpGet(port_, "/sick", &status).has_value()) {
      return ::testing::AssertionFailure() << "/sick failed";
    }
    return ::testing::AssertionSuccess();
  }
  WatchdProcess& watchd() { return *watchd_; }
  std::string File(const std::string& name) const { return dir_.File(name); }

 private:
  TempDir dir_;
  int port_;
  Subprocess app_;
  HttpServer sentinel_;
  bool started_ = false;
  bool ready_ = false;
  std::unique_ptr<WatchdProcess> watchd_;
};

std::vector<pid_t> Pids(const std::string& path) {
  std::vector<pid_t> pids;
  std::istringstream in(ReadFile(path));
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

// SIGKILLs, when it goes, every pid listed in `path` by then: what restart
// commands left running, whether the test got to its end or not.
class KillListed {
 public:
  explicit KillListed(std::string path) : path_(std::move(path)) {}
  ~KillListed() {
    for (pid_t pid : Pids(path_)) kill(pid, SIGKILL);
  }

 private:
  std::string path_;
};

// The peak resident memory of `pid` in KiB (VmHWM), or -1.
long PeakRssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// A restart command that starts the service in the background and exits
// (as `app &` in a script does): the restart is done when the command
// exits, not when the background process closes the output it inherited,
// and that process (the restarted service) is left running.
TEST(SupervisorCommandFault, ACommandThatLeavesADaemonIsDoneWhenItExits) {
  TempDir record;
  // Declared before the app: watchd stops before the leftovers are killed.
  KillListed leftovers(record.File("daemons"));
  HungApp app("[/bin/sh, -c, 'sleep 300 & echo $! >> " +
              record.File("daemons") + "; echo restarting', sh]");
  ASSERT_TRUE(app.Start());
  WatchdProcess& watchd = app.watchd();
  ASSERT_TRUE(WaitForLine(watchd, {"service app: the supervisor is done"}))
      << watchd.Log();
  EXPECT_EQ(RestartFailures(watchd, "app"), 0) << watchd.Log();
  std::vector<pid_t> daemons = Pids(record.File("daemons"));
  ASSERT_FALSE(daemons.empty());
  EXPECT_FALSE(Gone(daemons.front()));
  EXPECT_TRUE(StillOnSchedule(watchd));
}

// A restart command that never exits: it fails at the supervisor's
// timeout with that reason, counted, and its whole process group is
// killed (the shell and the sleep it waits on).
TEST(SupervisorCommandFault, ACommandThatNeverExitsFailsAtTheTimeout) {
  TempDir record;
  HungApp app("[/bin/sh, -c, 'echo $$ >> " + record.File("shells") +
              "; sleep 600', sh]");
  ASSERT_TRUE(app.Start());
  WatchdProcess& watchd = app.watchd();
  ASSERT_TRUE(WaitForLine(
      watchd, {"service app: restart failed:", "timed out after 2s"}))
      << watchd.Log();
  EXPECT_GE(RestartFailures(watchd, "app"), 1);
  std::vector<pid_t> shells = Pids(record.File("shells"));
  ASSERT_FALSE(shells.empty());
  EXPECT_TRUE(WaitFor([&] { return Gone(shells.front()); }, kDeadline));
  EXPECT_TRUE(StillOnSchedule(watchd));
}

// A restart command that prints 100 MiB: watchd reads and drops what it
// does not keep, so the command ends normally and watchd's peak memory
// grows by far less than the output.
TEST(SupervisorCommandFault, ACommandPrinting100MiBEndsAndCostsNoMemory) {
  HungApp app(
      "[/bin/sh, -c, 'head -c 104857600 /dev/zero | tr \"\\\\0\" x; echo', "
      "sh]");
  ASSERT_TRUE(app.Start());
  WatchdProcess& watchd = app.watchd();
  // Before the restart (the check needs three misses, over a second): the
  // growth is measured, since a sanitizer's own memory sets the level.
  const long before = PeakRssKib(watchd.process().pid());
  ASSERT_GT(before, 0);
  ASSERT_TRUE(WaitForLine(watchd, {"service app: the supervisor is done"}))
      << watchd.Log();
  EXPECT_EQ(RestartFailures(watchd, "app"), 0) << watchd.Log();
  const long after = PeakRssKib(watchd.process().pid());
  EXPECT_LT(after - before, 16 * 1024)
      << "peak RSS " << before << " KiB before, " << after << " KiB after";
  EXPECT_TRUE(StillOnSchedule(watchd));
}

}  // namespace
}  // namespace watchd::testing
