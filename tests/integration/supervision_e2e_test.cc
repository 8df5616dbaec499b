// End to end: the real watchd binary restarting real programs through a
// real supervisord (and the command adapter), asserting what happened from
// watchd's log lines, its /metrics and supervisord's own view of the pid.
#include "tests/support/supervision_e2e.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include <cstdio>
#include <sstream>

#include "os/procfs.h"
#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/supervisord_fixture.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Labels = std::map<std::string, std::string>;

// --- 1. hung (SIGSTOP), supervisord's own stop escalation ------------------

TEST(SupervisionEndToEnd, HungProcessIsRestartedThroughSupervisord) {
  const int port = FreePort();
  Supervisord supervisord;
  // A stopped process never acts on SIGTERM: supervisord kills it after 1s.
  supervisord.AddProgram("web", WebApp(port), "stopwaitsecs=1\n");
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t old_pid = supervisord.Pid("web");
  ASSERT_GT(old_pid, 0);

  WatchdProcess watchd(
      Service("web", HttpCheck("health", Url(port, "/health")) +
                         ProcessCheck("alive")),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "web", "health"));
  ASSERT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "web"}, {"check", "alive"}}, 1,
                                   kDeadline));

  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(old_pid, SIGSTOP), 0);
  const pid_t new_pid = supervisord.WaitForRunning("web", old_pid, kDeadline);
  ASSERT_GT(new_pid, 0) << watchd.Log() << supervisord.Log();
  // 3 misses of 500ms, supervisord's 1s stop and 1s startsecs, and slack.
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, seconds(30));
  EXPECT_TRUE(Gone(old_pid));
  EXPECT_TRUE(WaitFor([&] { return AppPid(port) == new_pid; }, kDeadline));

  EXPECT_TRUE(watchd.WaitForMetric("watchd_restarts_total",
                                   {{"service", "web"}, {"reason", "health"}},
                                   1, kDeadline))
      << watchd.ScrapeText();
  // The checks start afresh and pass on the new process.
  EXPECT_TRUE(WaitFor(
      [&] { return HasLine(watchd.Log(), {"service web: starting -> ok"}); },
      kDeadline));
  EXPECT_TRUE(Settled(watchd, "web", "health"));
  const std::string log = watchd.Log();
  EXPECT_TRUE(LinesInOrder(
      log, {{"service web: ok -> hung: check health failing: timeout"},
            {"service web: asking the supervisor to restart web"},
            {"service web: hung -> restarting"},
            {"service web: the supervisor is done; start_grace 1s begins"},
            {"check web/health (http): ", "-> pending"},
            {"service web: restarting -> starting"},
            {"service web: starting -> ok"}}));
  EXPECT_FALSE(HasLine(log, {"sent SIGKILL"})) << log;
  EXPECT_FALSE(HasLine(log, {"restart failed"})) << log;
  EXPECT_EQ(Restarts(watchd, "web"), 1);
  EXPECT_EQ(RestartFailures(watchd, "web"), 0);
  // The process check follows the new pid: it passes again, and there was
  // no second restart.
  EXPECT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "web"}, {"check", "alive"}}, 1,
                                   kDeadline));
  EXPECT_EQ(supervisord.Pid("web"), new_pid);
}

// --- 2. the supervisor's stop hangs: watchd's SIGKILL ----------------------

TEST(SupervisionEndToEnd, HangingStopIsEscalatedToSigkill) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("web", WebApp(port), "stopwaitsecs=60\n");
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t old_pid = supervisord.Pid("web");
  ASSERT_GT(old_pid, 0);

  WatchdProcess watchd(
      Service("web", HttpCheck("health", Url(port, "/health")), "1s"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "web", "health"));

  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(old_pid, SIGSTOP), 0);
  const pid_t new_pid = supervisord.WaitForRunning("web", old_pid, kDeadline);
  ASSERT_GT(new_pid, 0) << watchd.Log() << supervisord.Log();
  // Well before supervisord's own 60s.
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, seconds(40));
  EXPECT_TRUE(WaitForLine(
      watchd, {"service web: stop did not end pid " + std::to_string(old_pid) +
               " within 1s: sent SIGKILL"}))
      << watchd.Log();
  EXPECT_TRUE(Gone(old_pid));
  EXPECT_TRUE(WaitFor([&] { return AppPid(port) == new_pid; }, kDeadline));
  EXPECT_TRUE(Settled(watchd, "web", "health"));
  EXPECT_EQ(Restarts(watchd, "web"), 1);
  EXPECT_EQ(RestartFailures(watchd, "web"), 0);
  EXPECT_TRUE(supervisord.Log().find("stopped: web (terminated by SIGKILL)") !=
              std::string::npos)
      << supervisord.Log();
}

// --- 3. memory past rss_max -------------------------------------------------

TEST(SupervisionEndToEnd, MemoryPastRssMaxIsRestarted) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("mem", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t old_pid = supervisord.Pid("mem");
  ASSERT_GT(old_pid, 0);

  WatchdProcess watchd(
      Service("mem",
              "      memory:\n        memory: {rss_max: 64MiB}\n"
              "        interval: 500ms\n        failures: 3\n"
              "        on_failure: restart\n"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "mem", "memory"));
  const Labels rss = {{"service", "mem"}};
  auto resident = [&] {
    return FindMetric(watchd.Scrape(), "watchd_process_resident_memory_bytes",
                      rss)
        .value_or(-1);
  };
  EXPECT_GT(resident(), 0);
  EXPECT_LT(resident(), 64.0 * 1024 * 1024);

  int status = 0;
  ASSERT_TRUE(HttpGet(port, "/leak/100", &status, seconds(30)).has_value());
  ASSERT_EQ(status, 200);
  // Seen above the limit for the three probes it takes to fail.
  EXPECT_TRUE(WaitFor([&] { return resident() > 100.0 * 1024 * 1024; },
                      kDeadline, milliseconds(50)));
  const pid_t new_pid = supervisord.WaitForRunning("mem", old_pid, kDeadline);
  ASSERT_GT(new_pid, 0) << watchd.Log() << supervisord.Log();
  EXPECT_TRUE(watchd.WaitForMetric("watchd_restarts_total",
                                   {{"service", "mem"}, {"reason", "memory"}},
                                   1, kDeadline))
      << watchd.ScrapeText();
  EXPECT_TRUE(HasLine(watchd.Log(), {"check mem/memory (memory): passing -> "
                                     "failing: RSS ",
                                     "MiB exceeds 64.0MiB"}))
      << watchd.Log();
  EXPECT_TRUE(HasLine(watchd.Log(), {"service mem: ok -> hung: check memory "
                                     "failing: RSS "}))
      << watchd.Log();
  EXPECT_TRUE(Settled(watchd, "mem", "memory"));
  // The new process is small again.
  EXPECT_TRUE(WaitFor(
      [&] {
        double r = resident();
        return r > 0 && r < 64.0 * 1024 * 1024;
      },
      kDeadline));
  EXPECT_EQ(Restarts(watchd, "mem"), 1);
}

// --- 4. the process exits: supervisord respawns it, watchd does not --------

TEST(SupervisionEndToEnd, ExitIsLeftToSupervisordAndTheNewPidPickedUp) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("app", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t old_pid = supervisord.Pid("app");
  ASSERT_GT(old_pid, 0);

  WatchdProcess watchd(
      Service("app",
              HttpCheck("health", Url(port, "/health")) + ProcessCheck("alive"),
              "10s", "2s"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "app", "health"));
  ASSERT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "app"}, {"check", "alive"}}, 1,
                                   kDeadline));

  HttpGet(port, "/exit");
  const pid_t new_pid = supervisord.WaitForRunning("app", old_pid, kDeadline);
  ASSERT_GT(new_pid, 0) << supervisord.Log();
  // "(was OLD)" unless watchd saw the program down in between.
  EXPECT_TRUE(WaitForLine(
      watchd, {"service app: new process pid " + std::to_string(new_pid)}))
      << watchd.Log();
  // Its checks start afresh on the new process, and pass.
  EXPECT_TRUE(WaitForLine(watchd, {"service app: starting -> ok"}))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "app"}, {"check", "alive"}}, 1,
                                   kDeadline));
  // A while of healthy probes later, watchd has still asked for nothing.
  const Labels ok_runs = {
      {"service", "app"}, {"check", "health"}, {"result", "success"}};
  const double before = Sum(watchd.Scrape(), "watchd_probes_total", ok_runs);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Sum(watchd.Scrape(), "watchd_probes_total", ok_runs) >=
               before + 6;
      },
      kDeadline, milliseconds(100)));
  const std::string log = watchd.Log();
  EXPECT_EQ(Restarts(watchd, "app"), 0) << log;
  EXPECT_FALSE(HasLine(log, {"asking the supervisor"})) << log;
  EXPECT_EQ(supervisord.Pid("app"), new_pid);
  EXPECT_EQ(AppPid(port), new_pid);
  EXPECT_TRUE(WaitForState(watchd, "app", "ok"));
}

// --- 5. a service that never recovers: restart_limit -----------------------

TEST(SupervisionEndToEnd, RestartLimitUnmonitorsAServiceThatNeverRecovers) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("app", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();

  WatchdProcess watchd(
      Service("app", HttpCheck("health", Url(port, "/status/503")), "10s", "1s",
              "    restart_limit: {max: 2, within: 1m, then: unmonitor}\n"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "app", "unmonitored")) << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service app: restart limit reached (2 "
                                   "restarts within 1m): unmonitoring until "
                                   "resumed"}))
      << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service app: hung -> unmonitored: restart "
                                   "limit reached"}))
      << watchd.Log();
  const pid_t pid = supervisord.Pid("app");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(FindMetric(watchd.Scrape(), "watchd_restarts_total",
                       {{"service", "app"}, {"reason", "health"}}),
            2);

  // The checks go on; watchd acts no more.
  const Labels failed_runs = {
      {"service", "app"}, {"check", "health"}, {"result", "failure"}};
  const double before =
      Sum(watchd.Scrape(), "watchd_probes_total", failed_runs);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Sum(watchd.Scrape(), "watchd_probes_total", failed_runs) >=
               before + 8;
      },
      kDeadline, milliseconds(100)));
  EXPECT_EQ(Restarts(watchd, "app"), 2);
  EXPECT_EQ(supervisord.Pid("app"), pid);
  EXPECT_TRUE(WaitForState(watchd, "app", "unmonitored"));
  const std::string log = watchd.Log();
  size_t first = FindLine(log, {"asking the supervisor to restart app"});
  ASSERT_NE(first, std::string::npos);
  size_t second =
      FindLine(log, {"asking the supervisor to restart app"}, first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(FindLine(log, {"asking the supervisor"}, second + 1),
            std::string::npos)
      << log;
}

// --- 6. a pidfile naming an unrelated process -------------------------------

TEST(SupervisionEndToEnd, PidfileOfAnotherProcessIsNeverSignalled) {
  Subprocess bystander;
  ASSERT_TRUE(bystander.Start({"/bin/sleep", "1000"}));
  ASSERT_TRUE(
      WaitFor([&] { return ReadProcStat(bystander.pid()).ok(); }, kDeadline));
  const uint64_t started = ReadProcStat(bystander.pid())->start_time;
  TempDir dir;
  const std::string pidfile = dir.File("web.pid");
  ASSERT_TRUE(WriteFile(pidfile, std::to_string(bystander.pid()) + "\n"));

  const int port = FreePort();
  Supervisord supervisord;
  // Its stop hangs (SIGTERM ignored) past watchd's stop_timeout.
  supervisord.AddProgram("web", WebApp(port, {"--ignore-term"}),
                         "stopwaitsecs=3\n");
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t old_pid = supervisord.Pid("web");
  ASSERT_GT(old_pid, 0);

  WatchdProcess watchd(Service("web",
                               HttpCheck("health", Url(port, "/status/503")) +
                                   ProcessCheck("alive"),
                               "500ms", "1s", "    pidfile: " + pidfile + "\n"),
                       SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(
      watchd, {"check web/alive (process): pending -> failing: pidfile " +
               pidfile + " names pid " + std::to_string(bystander.pid()) +
               ", which is not the supervisor's web (pid "}))
      << watchd.Log();
  // watchd still restarts through supervisord, which knows its process.
  EXPECT_TRUE(WaitForLine(watchd, {"service web: the supervisor is done"}))
      << watchd.Log();
  EXPECT_GT(supervisord.WaitForRunning("web", old_pid, kDeadline), 0);
  EXPECT_GE(Restarts(watchd, "web"), 1);

  const std::string log = watchd.Log();
  EXPECT_FALSE(HasLine(log, {"SIGKILL"})) << log;
  ASSERT_TRUE(bystander.running());
  auto st = ReadProcStat(bystander.pid());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->start_time, started);
  EXPECT_NE(st->state, 'T');
}

// --- 7. a failing dependency blocks restarts --------------------------------

TEST(SupervisionEndToEnd, FailingDependencyBlocksRestarts) {
  const int port = FreePort();
  Supervisord supervisord;
  supervisord.AddProgram("web", WebApp(port));
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const pid_t pid = supervisord.Pid("web");
  ASSERT_GT(pid, 0);

  const std::string services =
      "  db:\n    checks:\n" +
      HttpCheck("query", Url(port, "/status/503"), "alert") +
      Service("web", HttpCheck("health", Url(port, "/health")), "10s", "1s",
              "    depends_on: [db]\n");
  WatchdProcess watchd(services, SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "db", "failing")) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "web", "health"));

  int status = 0;
  ASSERT_TRUE(HttpGet(port, "/sick", &status).has_value());
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(WaitForState(watchd, "web", "blocked")) << watchd.Log();
  EXPECT_TRUE(WaitForLine(
      watchd, {"service web: ok -> blocked: dependency db is failing"}))
      << watchd.Log();

  const Labels failed_runs = {
      {"service", "web"}, {"check", "health"}, {"result", "failure"}};
  const double before =
      Sum(watchd.Scrape(), "watchd_probes_total", failed_runs);
  EXPECT_TRUE(WaitFor(
      [&] {
        return Sum(watchd.Scrape(), "watchd_probes_total", failed_runs) >=
               before + 8;
      },
      kDeadline, milliseconds(100)));
  EXPECT_EQ(Restarts(watchd, "web"), 0) << watchd.Log();
  EXPECT_FALSE(HasLine(watchd.Log(), {"asking the supervisor"}))
      << watchd.Log();
  EXPECT_EQ(supervisord.Pid("web"), pid);
  EXPECT_TRUE(WaitForState(watchd, "web", "blocked"));
}

// --- 8. supervisord unreachable ---------------------------------------------

// Not knowing is not failing: with its supervisor unreachable, watchd cannot
// tell which process is the service's, says so, and restarts nothing.
TEST(SupervisionEndToEnd, UnreachableSupervisordIsUnknownAndNothingRestarts) {
  Subprocess app;
  ASSERT_TRUE(app.Start({"/bin/sleep", "1000"}));
  TempDir dir;
  const std::string pidfile = dir.File("web.pid");
  ASSERT_TRUE(WriteFile(pidfile, std::to_string(app.pid()) + "\n"));
  const std::string url = "unix://" + dir.File("nothing.sock");
  const int closed_port = FreePort();

  WatchdProcess watchd(
      Service("web", HttpCheck("health", Url(closed_port, "/health")), "1s",
              "1s", "    pidfile: " + pidfile + "\n"),
      SupervisordSection(url));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service web: ok -> unknown: supervisor "
                                   "unreachable: cannot reach supervisord at " +
                                   url + ": No such file or directory"}))
      << watchd.Log();
  EXPECT_TRUE(WaitForState(watchd, "web", "unknown"));
  // Many failed runs of the restart check later, still nothing asked.
  const Labels failed = {{"service", "web"}, {"check", "health"}};
  ASSERT_TRUE(WaitFor(
      [&] { return Sum(watchd.Scrape(), "watchd_probes_total", failed) >= 8; },
      kDeadline))
      << watchd.Log();
  EXPECT_EQ(Restarts(watchd, "web"), 0) << watchd.Log();
  EXPECT_EQ(RestartFailures(watchd, "web"), 0) << watchd.Log();
  EXPECT_FALSE(HasLine(watchd.Log(), {"asking the supervisor"}))
      << watchd.Log();
  EXPECT_TRUE(watchd.process().running());
  EXPECT_TRUE(app.running());
  EXPECT_FALSE(HasLine(watchd.Log(), {"SIGKILL"})) << watchd.Log();
}

// --- 9. the command adapter: a restart that hangs ---------------------------

TEST(SupervisionEndToEnd, HangingRestartCommandIsKilledAtItsTimeout) {
  TempDir dir;
  const std::string pids = dir.File("restart.pids");
  const int closed_port = FreePort();
  const std::string supervisors =
      "supervisors:\n  main:\n    type: command\n"
      "    restart: [/bin/sh, -c, \"echo $$ >> '" +
      pids + "'; exec /bin/sleep 100\"]\n    timeout: 1s\n";

  WatchdProcess watchd(
      Service("web", HttpCheck("health", Url(closed_port, "/health"))),
      supervisors);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service web: restart failed: restart "
                                   "command timed out after 1s"}))
      << watchd.Log();
  ASSERT_TRUE(
      WaitFor([&] { return RestartFailures(watchd, "web") >= 2; }, kDeadline))
      << watchd.Log();
  // Every restart command that timed out is gone (killed and reaped); the
  // third may be running now.
  std::istringstream in(ReadFile(pids));
  std::vector<pid_t> started;
  for (pid_t pid; in >> pid;) started.push_back(pid);
  ASSERT_GE(started.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(
        WaitFor([&] { return !ReadProcStat(started[i]).ok(); }, kDeadline))
        << "restart command pid " << started[i] << " outlived its timeout";
  }
  EXPECT_TRUE(watchd.process().running());
  EXPECT_GE(Restarts(watchd, "web"), 2);
}

}  // namespace
}  // namespace watchd::testing
