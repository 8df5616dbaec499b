// The world's events under the supervision core, end to end with the real
// watchd binary: processes replaced under their pidfile or by supervisord,
// pidfiles rewritten, emptied, filled with garbage, pointed at pid 1, made
// a FIFO, a symlink or a directory, or written by an unprivileged user; a
// supervisord stopped or slow; a stop that hangs. Each asserts that watchd
// stays up and on schedule, what it recorded and why, and that no
// unrelated process is ever signalled.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "os/procfs.h"
#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/supervision_e2e.h"
#include "tests/support/supervisord_fixture.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A process that stands for the service; it never exits by itself.
class App {
 public:
  App() {
    EXPECT_TRUE(process_.Start({"/bin/sleep", "100000"}));
    EXPECT_TRUE(WaitFor([&] { return ReadProcStat(pid()).ok(); }, kDeadline));
    start_time_ = ReadProcStat(pid()).value().start_time;
  }
  pid_t pid() const { return process_.pid(); }
  // Alive, not stopped, and the very process started here.
  bool Untouched() {
    auto st = ReadProcStat(pid());
    return process_.running() && st.ok() && st->start_time == start_time_ &&
           st->state != 'T';
  }
  void Kill() { process_.Stop(milliseconds(0)); }

 private:
  Subprocess process_;
  uint64_t start_time_ = 0;
};

double Runs(const WatchdProcess& watchd, const std::string& service,
            const std::string& check) {
  return Sum(watchd.Scrape(), "watchd_probes_total",
             {{"service", service}, {"check", check}});
}

// watchd is up and its checks keep their schedule: `n` more runs of the
// check within the deadline.
::testing::AssertionResult OnSchedule(const WatchdProcess& watchd,
                                      const std::string& service,
                                      const std::string& check, int n = 3) {
  const double before = Runs(watchd, service, check);
  if (WaitFor([&] { return Runs(watchd, service, check) >= before + n; },
              kDeadline)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "no " << n << " more runs of " << service << "/" << check << ":\n"
         << watchd.Log();
}

// A command supervisor whose restart only records the {pid} it was given.
std::string RecordingSupervisor(const std::string& record) {
  return "supervisors:\n  main:\n    type: command\n"
         "    restart: [/bin/sh, -c, 'echo \"$1\" >> " +
         record + "', sh, \"{pid}\"]\n    timeout: 5s\n";
}

std::string PidChecks() {
  return "      alive:\n        process: {}\n        interval: 200ms\n"
         "        failures: 1\n"
         "      memory:\n        memory: {rss_max: 1GiB}\n"
         "        interval: 200ms\n        failures: 1\n";
}

// --- a process replaced under its pidfile ----------------------------------

// The init script restarts the crashed service three times in a row, twice
// of them inside the grace of the one before: each new pid is recorded,
// with its grace, and watchd itself restarts nothing.
TEST(SupervisionScenarios, PidfileProcessReplacedThreeTimes) {
  // With a command supervisor, and with none (a service only watched).
  for (bool supervised : {true, false}) {
    SCOPED_TRACE(supervised ? "command supervisor" : "no supervisor");
    TempDir dir;
    const std::string pidfile = dir.File("app.pid");
    const std::string record = dir.File("restarts");
    auto app = std::make_unique<App>();
    ASSERT_TRUE(WriteFile(pidfile, std::to_string(app->pid()) + "\n"));
    std::string service = Service("app", PidChecks(), "10s", "2s",
                                  "    pidfile: " + pidfile + "\n");
    if (!supervised) {
      const std::string line = "    supervisor: main\n";
      service.erase(service.find(line), line.size());
    }
    WatchdProcess watchd(service,
                         supervised ? RecordingSupervisor(record) : "");
    ASSERT_TRUE(watchd.Start()) << watchd.Log();
    ASSERT_TRUE(Settled(watchd, "app", "alive"));

    for (int i = 0; i < 3; ++i) {
      auto next = std::make_unique<App>();
      app->Kill();
      ASSERT_TRUE(WriteFile(pidfile, std::to_string(next->pid()) + "\n"));
      app = std::move(next);
      EXPECT_TRUE(WaitForLine(watchd, {"service app: new process pid " +
                                       std::to_string(app->pid())}))
          << watchd.Log();
      // The second comes inside the grace of the first.
      if (i == 0) continue;
      EXPECT_TRUE(Settled(watchd, "app", "alive"));
    }
    EXPECT_TRUE(OnSchedule(watchd, "app", "memory"));
    EXPECT_EQ(Restarts(watchd, "app"), 0) << watchd.Log();
    EXPECT_EQ(ReadFile(record), "") << "the service's own supervisor acted";
    EXPECT_TRUE(watchd.process().running());
    EXPECT_TRUE(app->Untouched());
  }
}

// The init script replaces the process while watchd's own restart is in
// flight: one restart, counted once, and the process recorded after it is
// the one running now.
TEST(SupervisionScenarios, ProcessReplacedWhileARestartIsInFlight) {
  TempDir dir;
  const std::string pidfile = dir.File("app.pid");
  const std::string record = dir.File("restarts");
  // The restart command blocks reading this FIFO until the test writes it.
  const std::string go = dir.File("go");
  ASSERT_EQ(mkfifo(go.c_str(), 0600), 0);
  const int port = FreePort();
  auto app = std::make_unique<Subprocess>();
  ASSERT_TRUE(app->Start(WebApp(port, {"--pid-file", pidfile})));
  ASSERT_TRUE(WaitFor([&] { return AppPid(port) == app->pid(); }, kDeadline));
  const pid_t old_pid = app->pid();
  // The restart lasts until the test says so (bounded by its timeout).
  const std::string supervisors =
      "supervisors:\n  main:\n    type: command\n"
      "    restart: [/bin/sh, -c, 'echo \"$1\" >> " +
      record + "; read -r _ < " + go + "', sh, \"{pid}\"]\n    timeout: 60s\n";
  WatchdProcess watchd(
      Service("app",
              HttpCheck("health", Url(port, "/health")) + ProcessCheck("alive"),
              "30s", "1s", "    pidfile: " + pidfile + "\n"),
      supervisors);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "app", "health"));

  int status = 0;
  ASSERT_TRUE(HttpGet(port, "/sick", &status).has_value());
  EXPECT_TRUE(WaitForLine(watchd, {"service app: asking the supervisor"}))
      << watchd.Log();
  ASSERT_TRUE(WaitFor([&] { return !ReadFile(record).empty(); }, kDeadline));
  // Meanwhile the process is replaced by someone else.
  app->Stop();
  auto next = std::make_unique<Subprocess>();
  ASSERT_TRUE(next->Start(WebApp(port, {"--pid-file", pidfile})));
  ASSERT_TRUE(WaitFor([&] { return AppPid(port) == next->pid(); }, kDeadline));
  EXPECT_TRUE(OnSchedule(watchd, "app", "alive", 4));
  // Opens without blocking once the command reads the FIFO.
  int fd = -1;
  ASSERT_TRUE(WaitFor(
      [&] {
        fd = open(go.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        return fd >= 0;
      },
      kDeadline));
  ASSERT_EQ(write(fd, "go\n", 3), 3);
  close(fd);

  EXPECT_TRUE(WaitForLine(watchd, {"service app: the supervisor is done"}))
      << watchd.Log();
  EXPECT_TRUE(Settled(watchd, "app", "health"));
  EXPECT_TRUE(WaitForLine(watchd, {"check app/alive (process): pending -> "
                                   "passing: pid " +
                                   std::to_string(next->pid())}))
      << watchd.Log();
  EXPECT_EQ(ReadFile(record), std::to_string(old_pid) + "\n");
  EXPECT_EQ(Count(watchd.Log(), "asking the supervisor"), 1u) << watchd.Log();
  EXPECT_TRUE(next->running());
}

// Every way a pidfile goes wrong, one after another, each followed by a
// good pidfile again: watchd stays up and on schedule, says why, and
// neither signals nor names to its supervisor a process that is not the
// service's.
TEST(SupervisionScenarios, PidfileVariantsNeverStopWatchdOrMisleadIt) {
  TempDir dir;
  const std::string pidfile = dir.File("app.pid");
  const std::string record = dir.File("restarts");
  App app;
  App bystander;
  ASSERT_TRUE(WriteFile(pidfile, std::to_string(app.pid()) + "\n"));
  WatchdProcess watchd(
      Service("app", PidChecks(), "10s", "500ms",
              "    pidfile: " + pidfile + "\n" +
                  "    restart_limit: {max: 100, within: 1m}\n"),
      RecordingSupervisor(record));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "app", "alive"));

  // The same pid written again is not a new process.
  ASSERT_TRUE(WriteFile(pidfile, std::to_string(app.pid()) + "\n"));
  EXPECT_TRUE(OnSchedule(watchd, "app", "alive", 5));
  EXPECT_FALSE(HasLine(watchd.Log(), {"new process"})) << watchd.Log();

  const std::string fail = "check app/alive (process): passing -> failing: ";
  const std::vector<std::pair<std::string, std::function<void()>>> variants = {
      {"cannot read pidfile " + pidfile + ": No such file or directory",
       [&] { unlink(pidfile.c_str()); }},
      {"pidfile " + pidfile + " holds no pid", [&] { WriteFile(pidfile, ""); }},
      {"pidfile " + pidfile + " holds no pid",
       [&] { WriteFile(pidfile, "12ab\n\x01garbage"); }},
      {"pidfile " + pidfile +
           " names pid 1, which is never a service's "
           "process",
       [&] { WriteFile(pidfile, "1\n"); }},
      {"pidfile " + pidfile + " is a FIFO, not a regular file",
       [&] {
         unlink(pidfile.c_str());
         mkfifo(pidfile.c_str(), 0600);
       }},
      {"pidfile " + pidfile + " is a symbolic link; name the file itself",
       [&] {
         unlink(pidfile.c_str());
         WriteFile(dir.File("elsewhere"), std::to_string(app.pid()) + "\n");
         symlink(dir.File("elsewhere").c_str(), pidfile.c_str());
       }},
      {"pidfile " + pidfile + " is a directory, not a regular file", [&] {
         unlink(pidfile.c_str());
         mkdir(pidfile.c_str(), 0700);
       }}};
  for (const auto& [reason, make] : variants) {
    SCOPED_TRACE(reason);
    make();
    EXPECT_TRUE(WaitForLine(watchd, {fail + reason})) << watchd.Log();
    EXPECT_TRUE(OnSchedule(watchd, "app", "memory"));
    // Good again.
    rmdir(pidfile.c_str());
    unlink(pidfile.c_str());
    ASSERT_TRUE(WriteFile(pidfile, std::to_string(app.pid()) + "\n"));
    EXPECT_TRUE(Settled(watchd, "app", "alive"));
  }
  EXPECT_TRUE(watchd.process().running());
  EXPECT_TRUE(app.Untouched());
  EXPECT_TRUE(bystander.Untouched());
  // Starts asked while the pidfile was bad named no pid at all.
  std::istringstream in(ReadFile(record));
  for (std::string line; std::getline(in, line);) {
    EXPECT_NE(line, "1");
    EXPECT_NE(line, std::to_string(bystander.pid()));
  }
}

// A pidfile the service's unprivileged user could write names a root
// process: root must not act on it.
TEST(SupervisionScenarios, UntrustedPidfileNeverSteersRootsSignals) {
  TempDir dir;
  const std::string run = dir.File("run");
  ASSERT_EQ(mkdir(run.c_str(), 0755), 0);
  const std::string pidfile = run + "/app.pid";
  const std::string record = dir.File("restarts");
  App root_process;  // stands for sshd
  ASSERT_TRUE(WriteFile(pidfile, std::to_string(root_process.pid()) + "\n"));
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown to nobody";
  ASSERT_EQ(chown(pidfile.c_str(), 65534, 65534), 0);
  const int closed_port = FreePort();
  WatchdProcess watchd(
      Service("app",
              ProcessCheck("alive") +
                  HttpCheck("health", Url(closed_port, "/health")),
              "1s", "500ms", "    pidfile: " + pidfile + "\n"),
      RecordingSupervisor(record));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(
      watchd,
      {"service app: untrusted pidfile " + pidfile +
       ": it is owned by uid 65534, and pid " +
       std::to_string(root_process.pid()) +
       " runs as uid 0, not as its owner (uid 65534): no pid is named"}))
      << watchd.Log();
  // The http check fails: the restart is asked, but a command that needs
  // {pid} is not run without a trusted one.
  EXPECT_TRUE(WaitForLine(
      watchd, {"service app: restart failed: restart command needs {pid}, but "
               "'app' "
               "has no process"}))
      << watchd.Log();
  EXPECT_TRUE(OnSchedule(watchd, "app", "alive"));
  EXPECT_EQ(ReadFile(record), "");
  EXPECT_TRUE(root_process.Untouched());
  EXPECT_FALSE(HasLine(watchd.Log(), {"SIGKILL"}));
}

// --- supervisord ------------------------------------------------------------

// A `program:` that supervisord does not know is a mistake in the
// configuration: refused at start with its place, not retried forever.
TEST(SupervisionScenarios, ProgramUnknownToSupervisordIsRefusedAtStart) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("web", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  WatchdProcess watchd(Service("ghost", ProcessCheck("alive")),
                       SupervisordSection(supervisord.url()));
  // /metrics may answer for the moment the check takes: not asserted.
  watchd.Start();
  auto status = watchd.process().Wait(kDeadline);
  ASSERT_TRUE(status.has_value()) << watchd.Log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << watchd.Log();
  EXPECT_TRUE(HasLine(
      watchd.Log(),
      {watchd.config_path() + ":", ": service ghost: ", "no program 'ghost'"}))
      << watchd.Log();
}

// supervisord respawns its program three times (autorestart): watchd
// follows each new pid and restarts nothing itself.
TEST(SupervisionScenarios, SupervisordRespawnsFollowedWithoutRestarts) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("web", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  WatchdProcess watchd(Service("web", ProcessCheck("alive")),
                       SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "web", "alive"));
  pid_t pid = supervisord.Pid("web");
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    const pid_t next = supervisord.WaitForRunning("web", pid, kDeadline);
    ASSERT_GT(next, 0) << supervisord.Log();
    // "(was N)" unless a look caught the moment it was gone ("dead").
    EXPECT_TRUE(WaitForLine(
        watchd, {"service web: new process pid " + std::to_string(next)}))
        << watchd.Log();
    pid = next;
    EXPECT_TRUE(Settled(watchd, "web", "alive"));
  }
  EXPECT_EQ(Restarts(watchd, "web"), 0) << watchd.Log();
  EXPECT_EQ(supervisord.Pid("web"), pid);
}

// systemd (through a stand-in systemctl whose MainPID the test sets)
// replaces the unit's main process three times: each is followed, and no
// restart is asked.
TEST(SupervisionScenarios, SystemdMainPidReplacedThreeTimes) {
  TempDir dir;
  const std::string log = dir.File("systemctl.log");
  auto app = std::make_unique<App>();
  ASSERT_TRUE(WriteFile(log + ".mainpid", std::to_string(app->pid())));
  WatchdProcess watchd(
      "  app:\n    supervisor: sd\n    program: app.service\n"
      "    start_grace: 1s\n    checks:\n" +
          PidChecks(),
      "supervisors:\n  sd:\n    type: systemd\n    systemctl: [/bin/sh, " +
          SourcePath("tests/servers/fake_systemctl.sh") + ", " + log +
          ", mainpid]\n    timeout: 5s\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "app", "alive"));
  for (int i = 0; i < 3; ++i) {
    auto next = std::make_unique<App>();
    const pid_t old = app->pid();
    ASSERT_TRUE(ReplaceFile(log + ".mainpid", std::to_string(next->pid())));
    app->Kill();
    app = std::move(next);
    EXPECT_TRUE(WaitForLine(
        watchd, {"service app: new process pid " + std::to_string(app->pid()) +
                 " (was " + std::to_string(old) + ")"}))
        << watchd.Log();
    EXPECT_TRUE(Settled(watchd, "app", "alive"));
  }
  EXPECT_TRUE(OnSchedule(watchd, "app", "memory"));
  EXPECT_EQ(Restarts(watchd, "app"), 0) << watchd.Log();
  const std::string calls = ReadFile(log);
  EXPECT_EQ(calls.find("[restart]"), std::string::npos) << calls;
  EXPECT_EQ(calls.find("[start]"), std::string::npos) << calls;
  EXPECT_NE(calls.find("[show]"), std::string::npos) << calls;
}

// supervisord SIGSTOPped for twice its timeout under healthy process and
// memory checks: watchd cannot tell, says so, and asks for nothing.
TEST(SupervisionScenarios, StoppedSupervisordIsUnknownNotARestart) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("web", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t pid = supervisord.Pid("web");
  WatchdProcess watchd(
      Service("web",
              "      alive:\n        process: {}\n        interval: 500ms\n"
              "        timeout: 500ms\n        failures: 2\n"
              "        on_failure: restart\n"
              "      memory:\n        memory: {rss_max: 1GiB}\n"
              "        interval: 500ms\n        timeout: 500ms\n"
              "        failures: 2\n        on_failure: restart\n"),
      "supervisors:\n  main: {type: supervisord, url: \"" + supervisord.url() +
          "\", timeout: 1s}\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "web", "alive"));
  const pid_t supervisord_pid = supervisord.SupervisordPid();
  ASSERT_EQ(kill(supervisord_pid, SIGSTOP), 0);
  EXPECT_TRUE(WaitForLine(watchd, {"service web: ok -> unknown: "}))
      << watchd.Log();
  // Twice the supervisor's timeout and more, still stopped.
  EXPECT_TRUE(OnSchedule(watchd, "web", "alive", 10));
  ASSERT_EQ(kill(supervisord_pid, SIGCONT), 0);
  EXPECT_TRUE(Settled(watchd, "web", "alive"));
  EXPECT_EQ(Restarts(watchd, "web"), 0) << watchd.Log();
  EXPECT_FALSE(HasLine(watchd.Log(), {"asking the supervisor"}));
  EXPECT_EQ(supervisord.Pid("web"), pid);
  EXPECT_EQ(supervisord.Log().find("stopped: web"), std::string::npos)
      << supervisord.Log();
}

// startsecs above the supervisor's timeout: every restart call times out
// although the restart happens. Each counts, and restart_limit trips.
TEST(SupervisionScenarios, SlowStartsAreCountedTowardTheLimit) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("web", WebApp(port), "startsecs=3\n");
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  WatchdProcess watchd(
      Service("web", HttpCheck("health", Url(port, "/status/503")), "10s", "1s",
              "    restart_limit: {max: 2, within: 10m}\n"),
      "supervisors:\n  main: {type: supervisord, url: \"" + supervisord.url() +
          "\", timeout: 1s}\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service web: restart limit reached"}))
      << watchd.Log();
  EXPECT_TRUE(WaitForState(watchd, "web", "unmonitored"));
  const std::string log = watchd.Log();
  EXPECT_EQ(Count(log, "counted as a restart"), 2u) << log;
  EXPECT_EQ(Count(log, "asking the supervisor"), 2u) << log;
  EXPECT_EQ(RestartFailures(watchd, "web"), 0) << log;
  // No restart is asked once unmonitored.
  EXPECT_TRUE(OnSchedule(watchd, "web", "health", 6));
  EXPECT_EQ(Count(watchd.Log(), "asking the supervisor"), 2u);
}

// A stopped program whose stop hangs (stopwaitsecs far above stop_timeout),
// with the supervisor's timeout below stop_timeout (its call fails first)
// and above it: either way the process is killed within stop_timeout + 1 s,
// the restart that follows is counted once, and it is counted done.
TEST(SupervisionScenarios, EscalationWhateverTheSupervisorsTimeout) {
  for (const char* timeout : {"1s", "20s"}) {
    SCOPED_TRACE(std::string("supervisor timeout ") + timeout);
    const int port = FreePort();
    Supervisord supervisord;
    supervisord.AddProgram("web", WebApp(port), "stopwaitsecs=60\n");
    ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
    const pid_t old_pid = supervisord.Pid("web");
    WatchdProcess watchd(
        Service("web", HttpCheck("health", Url(port, "/health")), "3s"),
        "supervisors:\n  main: {type: supervisord, url: \"" +
            supervisord.url() + "\", timeout: " + timeout + "}\n");
    ASSERT_TRUE(watchd.Start()) << watchd.Log();
    ASSERT_TRUE(Settled(watchd, "web", "health"));
    ASSERT_EQ(kill(old_pid, SIGSTOP), 0);
    EXPECT_TRUE(WaitForLine(
        watchd, {"service web: stop did not end pid " +
                 std::to_string(old_pid) + " within 3s: sent SIGKILL"}))
        << watchd.Log();
    EXPECT_GT(supervisord.WaitForRunning("web", old_pid, kDeadline), 0);
    EXPECT_TRUE(Settled(watchd, "web", "health"));
    const std::string log = watchd.Log();
    const auto asked = LineTimes(log, {"service web: asking the supervisor"});
    const auto killed = LineTimes(log, {"sent SIGKILL"});
    ASSERT_FALSE(asked.empty());
    ASSERT_EQ(killed.size(), 1u) << log;
    EXPECT_LE(killed[0] - asked[0], seconds(4)) << log;
    EXPECT_TRUE(Gone(old_pid));
    // One restart (or start) happened, and it is counted once, whatever
    // the calls that failed while the stop hung.
    EXPECT_EQ(Count(log, "service web: the supervisor is done"), 1u) << log;
    EXPECT_EQ(Restarts(watchd, "web"),
              Count(log, "service web: asking the supervisor"));
  }
}

// A dependency driven through hung, its restart_limit and unmonitored: its
// dependant, failing all along, is never restarted in its place.
TEST(SupervisionScenarios,
     DependantIsNeverRestartedForAnUnmonitoredDependency) {
  const int db_port = FreePort();
  const int web_port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("db", WebApp(db_port));
  supervisord.AddProgram("web", WebApp(web_port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t web_pid = supervisord.Pid("web");
  WatchdProcess watchd(
      Service("db", HttpCheck("health", Url(db_port, "/status/503")), "10s",
              "1s", "    restart_limit: {max: 1, within: 10m}\n") +
          Service("web", HttpCheck("health", Url(web_port, "/status/502")),
                  "10s", "1s", "    depends_on: [db]\n"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service db: restart limit reached"}))
      << watchd.Log();
  EXPECT_TRUE(WaitForState(watchd, "db", "unmonitored"));
  EXPECT_TRUE(WaitForState(watchd, "web", "blocked"));
  EXPECT_TRUE(OnSchedule(watchd, "web", "health", 10));
  EXPECT_FALSE(HasLine(watchd.Log(), {"service web: asking the supervisor"}))
      << watchd.Log();
  EXPECT_EQ(Restarts(watchd, "web"), 0);
  EXPECT_EQ(supervisord.Pid("web"), web_pid);
  // Blocked by db's failing runs, then by its verdict, whichever came
  // first: the reason says db either way.
  EXPECT_TRUE(
      HasLine(watchd.Log(), {"service web:", "-> blocked: dependency db"}))
      << watchd.Log();
}

// A SIGSTOPped nginx worker: the master waits for it, so supervisord's
// stop hangs. Escalation must end the whole tree as it stood when the stop
// began: a worker left behind would hold the port, and every later start
// would fail with "Address already in use".
TEST(SupervisionScenarios, StoppedNginxWorkerIsKilledWithItsMaster) {
  TempDir dir;
  const int port = FreePort();
  const std::string conf = dir.File("nginx.conf");
  const std::string pidfile = dir.File("nginx.pid");
  std::string temp_paths;
  for (const char* kind :
       {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
    temp_paths +=
        std::string("  ") + kind + "_temp_path " + dir.File(kind) + ";\n";
  }
  ASSERT_TRUE(WriteFile(
      conf, "daemon off;\nmaster_process on;\nworker_processes 1;\npid " +
                pidfile + ";\nerror_log " + dir.File("error.log") +
                ";\nevents {}\nhttp {\n  access_log off;\n" + temp_paths +
                "  server {\n    listen 127.0.0.1:" + std::to_string(port) +
                ";\n    location / { return 200 \"ok\\n\"; }\n  }\n}\n"));
  Supervisord supervisord;
  supervisord.AddProgram("nginx", {"/usr/sbin/nginx", "-c", conf},
                         "stopwaitsecs=60\n");
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t master = supervisord.Pid("nginx");
  ASSERT_GT(master, 0);
  ASSERT_TRUE(
      WaitFor([&] { return ReadDescendants(master).size() == 1; }, kDeadline));
  const pid_t worker = ReadDescendants(master)[0];
  const uint64_t worker_start = ReadProcStat(worker).value().start_time;

  WatchdProcess watchd(Service("nginx", HttpCheck("health", Url(port, "/")),
                               "2s", "1s", "    pidfile: " + pidfile + "\n"),
                       SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "nginx", "health"));

  ASSERT_EQ(kill(worker, SIGSTOP), 0);
  EXPECT_TRUE(WaitForLine(
      watchd, {"service nginx: stop did not end pid " + std::to_string(master) +
               " within 2s: sent SIGKILL (and to 1 "
               "process of its tree)"}))
      << watchd.Log() << supervisord.Log();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto st = ReadProcStat(worker);
        return !st.ok() || st->start_time != worker_start || st->state == 'Z';
      },
      kDeadline))
      << "the stopped worker outlived escalation";
  const pid_t next = supervisord.WaitForRunning("nginx", master, kDeadline);
  EXPECT_GT(next, 0) << supervisord.Log() << ReadFile(dir.File("error.log"));
  EXPECT_TRUE(Settled(watchd, "nginx", "health"));
  EXPECT_EQ(ReadFile(dir.File("error.log")).find("Address already in use"),
            std::string::npos)
      << ReadFile(dir.File("error.log"));
}

}  // namespace
}  // namespace watchd::testing
