// End to end: the supervisor's own limits. A real supervisord parks a
// program that exits at once in FATAL, and a stand-in systemctl shows a
// unit stopped for start-limit-hit: watchd reports the give-up as the
// service's reason, leaves it alone by default, and with
// recover_supervisor_giveup clears it (startProcess; reset-failed, then
// start) under its own backoff and restart_limit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/supervision_e2e.h"
#include "tests/support/supervisord_fixture.h"
#include "tests/support/wait.h"
#include "tests/support/watchctl_run.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

// The first service's reason in a `watchctl --json` reply.
std::string FirstReason(const std::string& reply) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object() || !j["services"].is_array() || j["services"].empty()) {
    return "";
  }
  return j["services"][0].value("reason", "");
}

using std::chrono::milliseconds;

constexpr char kFatal[] =
    "supervisor gave up: FATAL (Exited too quickly (process log may have "
    "details))";
constexpr char kStartLimit[] = "supervisor gave up: start-limit-hit";
constexpr char kLeftAlone[] = "recover_supervisor_giveup is off";

// web_app.py on `port` once `flag` exists; until then it exits at once.
std::vector<std::string> AppOnceFixed(const std::string& flag, int port) {
  std::vector<std::string> argv = {
      "/bin/sh", "-c", "[ -e \"$1\" ] || exit 1; shift; exec \"$@\"", "sh",
      flag};
  for (const std::string& arg : WebApp(port)) argv.push_back(arg);
  return argv;
}

// One quick exit, one retry, then FATAL.
void AddFailingApp(Supervisord& supervisord, const std::string& flag,
                   int port) {
  supervisord.AddProgram("app", AppOnceFixed(flag, port), "startretries=1\n",
                         "FATAL");
}

size_t Count(const std::string& log, const std::string& text) {
  size_t n = 0;
  for (size_t at = log.find(text); at != std::string::npos;
       at = log.find(text, at + 1)) {
    ++n;
  }
  return n;
}

double Runs(const WatchdProcess& watchd, const std::string& check) {
  return Sum(watchd.Scrape(), "watchd_probes_total",
             {{"service", "app"}, {"check", check}});
}

// `n` more runs of app's `check`: time passes with watchd watching.
::testing::AssertionResult MoreRuns(const WatchdProcess& watchd,
                                    const std::string& check, int n) {
  const double before = Runs(watchd, check);
  if (WaitFor([&] { return Runs(watchd, check) >= before + n; }, kDeadline)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "no " << n << " more runs of app/" << check << ":\n"
         << watchd.Log();
}

// What the stand-in systemctl was asked to do: every run but `show`.
std::string Actions(const std::string& systemctl_log) {
  std::string actions;
  const std::string all = ReadFile(systemctl_log);
  size_t begin = 0;
  while (begin < all.size()) {
    size_t end = all.find('\n', begin);
    if (end == std::string::npos) end = all.size();
    const std::string line = all.substr(begin, end - begin);
    if (!line.starts_with("[show]")) actions += line + "\n";
    begin = end + 1;
  }
  return actions;
}

std::string SystemdSection(const std::string& systemctl_log) {
  return "supervisors:\n  sd:\n    type: systemd\n    systemctl: [/bin/sh, " +
         SourcePath("tests/servers/fake_systemctl.sh") + ", " + systemctl_log +
         ", mainpid]\n    timeout: 5s\n";
}

std::string SystemdService(const std::string& extra) {
  return "  app:\n    supervisor: sd\n    program: app.service\n"
         "    start_grace: 10s\n"
         "    restart_backoff: {initial: 200ms, max: 2s}\n" +
         extra +
         "    checks:\n"
         "      alive:\n        process: {}\n        interval: 200ms\n"
         "        failures: 1\n";
}

// --- supervisord -------------------------------------------------------------

// Off by default: reported, said once, never started; the operator's
// restart clears it.
TEST(SupervisorGiveUp, SupervisordFatalIsReportedAndLeftToTheOperator) {
  const int port = FreePort();
  Supervisord supervisord;
  const std::string flag = supervisord.dir().File("fixed");
  AddFailingApp(supervisord, flag, port);
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();

  WatchdProcess watchd(
      Service("app", HttpCheck("health", Url(port, "/health"))),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(
      WaitForLine(watchd, {"service app: ", std::string("-> dead: ") + kFatal}))
      << watchd.Log();
  EXPECT_TRUE(WaitForLine(
      watchd, {std::string("service app: ") + kFatal +
               ": watchd does not start app (recover_supervisor_giveup is "
               "off); clear it at the supervisor, or run watchctl restart "
               "app"}))
      << watchd.Log();
  EXPECT_TRUE(WaitForState(watchd, "app", "dead"));

  // Its reason, wherever the state is shown.
  const std::string socket = watchd.control_socket();
  WatchctlResult status = RunWatchctl(socket, {"status", "app"});
  EXPECT_EQ(status.exit_code, 3) << status.out << status.err;
  EXPECT_NE(status.out.find(std::string("reason      ") + kFatal),
            std::string::npos)
      << status.out;
  WatchctlResult summary = RunWatchctl(socket, {"summary"});
  EXPECT_EQ(summary.exit_code, 3) << summary.out << summary.err;
  EXPECT_NE(summary.out.find(kFatal), std::string::npos) << summary.out;
  WatchctlResult json = RunWatchctl(socket, {"status", "--json"});
  EXPECT_EQ(json.exit_code, 3) << json.out << json.err;
  EXPECT_EQ(FirstReason(json.out), kFatal) << json.out;

  // Time passes: nothing is asked, and it is not said again.
  EXPECT_TRUE(MoreRuns(watchd, "health", 8));
  std::string log = watchd.Log();
  EXPECT_FALSE(HasLine(log, {"asking the supervisor"})) << log;
  EXPECT_EQ(Count(log, kLeftAlone), 1u) << log;
  ASSERT_TRUE(supervisord.Info("app").has_value());
  EXPECT_EQ(supervisord.Info("app")->state, "FATAL");

  // The operator fixes the program and restarts it by hand.
  ASSERT_TRUE(WriteFile(flag, ""));
  WatchctlResult restart = RunWatchctl(socket, {"restart", "app"});
  EXPECT_EQ(restart.exit_code, 0) << restart.out << restart.err;
  EXPECT_GT(supervisord.WaitForRunning("app", 0, kDeadline), 0)
      << supervisord.Log();
  EXPECT_TRUE(Settled(watchd, "app", "health"));
  log = watchd.Log();
  EXPECT_TRUE(HasLine(log, {"service app: asking the supervisor to restart "
                            "app (requested by operator; " +
                            std::string(kFatal) + ")"}))
      << log;
  EXPECT_EQ(Restarts(watchd, "app"), 1);
}

// The program was fixed while supervisord had it parked: watchd clears the
// give-up once, and the service comes back.
TEST(SupervisorGiveUp, SupervisordFatalIsRecoveredOnceTheProgramIsFixed) {
  const int port = FreePort();
  Supervisord supervisord;
  const std::string flag = supervisord.dir().File("fixed");
  AddFailingApp(supervisord, flag, port);
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  ASSERT_TRUE(WriteFile(flag, ""));

  WatchdProcess watchd(
      Service("app", HttpCheck("health", Url(port, "/health"), "alert"), "10s",
              "1s", "    recover_supervisor_giveup: true\n"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  const pid_t pid = supervisord.WaitForRunning("app", 0, kDeadline);
  EXPECT_GT(pid, 0) << watchd.Log() << supervisord.Log();
  EXPECT_TRUE(Settled(watchd, "app", "health"));
  const std::string log = watchd.Log();
  EXPECT_TRUE(LinesInOrder(
      log,
      {{"service app: ", std::string("-> dead: ") + kFatal},
       {"service app: asking the supervisor to clear its give-up and "
        "start app (" +
        std::string(kFatal) + ")"},
       {"service app: dead -> restarting: recovering: " + std::string(kFatal)},
       {"service app: the supervisor is done; start_grace 1s begins"},
       {"service app: starting -> ok"}}));
  EXPECT_EQ(Count(log, "asking the supervisor"), 1u) << log;
  EXPECT_FALSE(HasLine(log, {kLeftAlone})) << log;
  EXPECT_EQ(FindMetric(watchd.Scrape(), "watchd_restarts_total",
                       {{"service", "app"}, {"reason", "supervisor_gave_up"}}),
            1);
  EXPECT_EQ(RestartFailures(watchd, "app"), 0);
  EXPECT_EQ(supervisord.Pid("app"), pid);
}

// A program that fails at once is given up again after every recovery:
// each counts, and restart_limit unmonitors it. The process check has the
// program looked up on every run: a look may catch a process in its short
// life, and only a later one sees it given up again.
TEST(SupervisorGiveUp, SupervisordProgramThatKeepsFailingReachesTheLimit) {
  const int port = FreePort();
  Supervisord supervisord;
  AddFailingApp(supervisord, supervisord.dir().File("never"), port);
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();

  WatchdProcess watchd(
      Service("app",
              HttpCheck("health", Url(port, "/health"), "alert") +
                  ProcessCheck("alive"),
              "10s", "1s",
              "    recover_supervisor_giveup: true\n"
              "    restart_limit: {max: 2, within: 10m, then: unmonitor}\n"),
      SupervisordSection(supervisord.url()));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service app: restart limit reached (2 "
                                   "restarts within 10m): unmonitoring until "
                                   "resumed"}))
      << watchd.Log() << supervisord.Log();
  EXPECT_TRUE(WaitForState(watchd, "app", "unmonitored"));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto info = supervisord.Info("app");
        return info && info->state == "FATAL";
      },
      kDeadline));
  EXPECT_TRUE(MoreRuns(watchd, "health", 6));
  const std::string log = watchd.Log();
  EXPECT_EQ(Count(log, "asking the supervisor to clear its give-up"), 2u)
      << log;
  EXPECT_EQ(Count(log, "asking the supervisor"), 2u) << log;
  EXPECT_EQ(FindMetric(watchd.Scrape(), "watchd_restarts_total",
                       {{"service", "app"}, {"reason", "supervisor_gave_up"}}),
            2);
  EXPECT_EQ(RestartFailures(watchd, "app"), 0) << log;
  // Its second recovery waited for the first one's grace and backoff.
  const auto asked =
      LineTimes(log, {"asking the supervisor to clear its give-up"});
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_GE(asked[1] - asked[0], milliseconds(1000));
}

// --- systemd (the stand-in systemctl) ---------------------------------------

TEST(SupervisorGiveUp, SystemdStartLimitIsReportedAndLeftAlone) {
  TempDir dir;
  const std::string log = dir.File("systemctl.log");
  ASSERT_TRUE(WriteFile(log + ".result", "start-limit-hit"));
  WatchdProcess watchd(SystemdService(""), SystemdSection(log));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(
      watchd, {"service app: ok -> dead: " + std::string(kStartLimit)}))
      << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"service app: " + std::string(kStartLimit) +
                                   ": watchd does not start app.service"}))
      << watchd.Log();
  const std::string socket = watchd.control_socket();
  WatchctlResult summary = RunWatchctl(socket, {"summary", "--json"});
  EXPECT_EQ(summary.exit_code, 3) << summary.out << summary.err;
  EXPECT_EQ(FirstReason(summary.out), kStartLimit) << summary.out;
  // Far past start_grace (10s) and the poll's many looks: only `show`.
  EXPECT_TRUE(
      WaitFor([&] { return Count(ReadFile(log), "[show]") >= 15; }, kDeadline));
  EXPECT_EQ(Actions(log), "");
  EXPECT_EQ(Count(watchd.Log(), kLeftAlone), 1u) << watchd.Log();
}

TEST(SupervisorGiveUp, SystemdStartLimitIsResetThenStarted) {
  TempDir dir;
  const std::string log = dir.File("systemctl.log");
  ASSERT_TRUE(WriteFile(log + ".result", "start-limit-hit"));
  WatchdProcess watchd(SystemdService("    recover_supervisor_giveup: true\n"),
                       SystemdSection(log));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(WaitForLine(
      watchd, {"service app: ok -> dead: " + std::string(kStartLimit)}))
      << watchd.Log();
  // The argv watchd ran: reset-failed, then a start that does not wait.
  const std::string expected =
      "[reset-failed][app.service]\n[--no-block][start][app.service]\n";
  EXPECT_TRUE(WaitFor([&] { return Actions(log) == expected; }, kDeadline))
      << Actions(log);
  // systemd starts the unit: its new main process.
  Subprocess app;
  ASSERT_TRUE(app.Start({"/bin/sleep", "100000"}));
  ASSERT_TRUE(ReplaceFile(log + ".mainpid", std::to_string(app.pid())));
  EXPECT_TRUE(Settled(watchd, "app", "alive"));
  EXPECT_EQ(Actions(log), expected);
  EXPECT_TRUE(LinesInOrder(
      watchd.Log(),
      {{"service app: asking the supervisor to clear its give-up and start "
        "app.service (" +
        std::string(kStartLimit) + ")"},
       {"service app: the supervisor is done; start_grace 10s begins"},
       {"service app: starting -> ok"}}));
  EXPECT_EQ(FindMetric(watchd.Scrape(), "watchd_restarts_total",
                       {{"service", "app"}, {"reason", "supervisor_gave_up"}}),
            1);
}

}  // namespace
}  // namespace watchd::testing
