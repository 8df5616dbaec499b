// daemon.state_file end to end: the real watchd, killed with SIGKILL (no
// last save, no goodbye) and started again on the same config, keeps what
// the operator and its own restarts decided; a corrupt file never stops it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tests/support/subprocess.h"
#include "tests/support/supervision_e2e.h"
#include "tests/support/wait.h"
#include "tests/support/watchctl_run.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

int Lines(const std::string& path) {
  std::string text = ReadFile(path);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

class StateFileE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pidfile_ = dir_.File("app.pid");
    fail_ = dir_.File("fail");
    restarts_ = dir_.File("restarts");
    StartApp();
  }

  // The service's process: a sleep whose pid the test writes to the
  // pidfile (after it started: an older pidfile names a recycled pid).
  void StartApp() {
    app_.Stop();
    ASSERT_TRUE(app_.Start({"sleep", "86400"}));
    ASSERT_TRUE(ReplaceFile(pidfile_, std::to_string(app_.pid()) + "\n"));
  }

  // `app`: its check fails while fail_ exists; its restart (a command
  // supervisor) is logged to restarts_ and removes fail_, as a restart
  // that cures it. stop_timeout is long: the process is never replaced by
  // the restart, so no escalation must end it.
  void Make(const std::string& start_grace = "1s") {
    const std::string services =
        "  app:\n    supervisor: cmd\n    pidfile: " + pidfile_ +
        "\n    start_grace: " + start_grace +
        "\n    stop_timeout: 1h\n"
        "    restart_limit: {max: 2, within: 10m, then: unmonitor}\n"
        "    restart_backoff: {initial: 100ms, max: 1s}\n"
        "    checks:\n      health:\n        exec: [/bin/sh, -c, 'test ! -e " +
        fail_ +
        "']\n        interval: 200ms\n        failures: 1\n"
        "        on_failure: restart\n";
    const std::string supervisors =
        "supervisors:\n  cmd:\n    type: command\n"
        "    restart: [/bin/sh, -c, 'echo restart >> " +
        restarts_ + "; rm -f " + fail_ + "']\n    timeout: 20s\n";
    watchd_ = std::make_unique<WatchdProcess>(services, supervisors);
  }
  std::string StatePath() const { return watchd_->dir() + "/state.json"; }

  // SIGKILL: no last save. What the next watchd finds is what was saved
  // on the way.
  void Kill() {
    ASSERT_TRUE(watchd_->process().Signal(SIGKILL));
    ASSERT_TRUE(watchd_->process().Wait(seconds(30)).has_value());
    watchd_->Stop();  // reaps it, and what is left of its process group
  }
  void StartAgain() {
    log_from_ = watchd_->Log().size();
    ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  }
  // The log of the current run of watchd.
  std::string RunLog() const { return watchd_->Log().substr(log_from_); }
  bool WaitForRunLine(const std::vector<std::string>& parts) const {
    return WaitFor([&] { return HasLine(RunLog(), parts); }, kDeadline,
                   std::chrono::milliseconds(50));
  }

  // services.app of the state file as it is on disk now; null when there
  // is none yet.
  json SavedApp() const {
    json j = json::parse(ReadFile(StatePath()), nullptr, false);
    if (!j.is_object() || !j["services"].is_object() ||
        !j["services"].contains("app")) {
      return nullptr;
    }
    return j["services"]["app"];
  }
  bool WaitForSaved(const std::function<bool(const json&)>& cond) const {
    return WaitFor(
        [&] {
          json app = SavedApp();
          return !app.is_null() && cond(app);
        },
        kDeadline, std::chrono::milliseconds(50));
  }
  bool ProcessSaved() const {
    return WaitForSaved([this](const json& app) {
      return app["process"].is_object() && app["process"]["pid"] == app_.pid();
    });
  }
  // The pid `watchctl status` shows for app (0: none).
  pid_t StatusPid() const {
    WatchctlResult r =
        RunWatchctl(watchd_->control_socket(), {"status", "--json", "app"});
    json j = json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j["services"].is_array() || j["services"].empty() ||
        !j["services"][0]["pid"].is_number()) {
      return 0;
    }
    return j["services"][0]["pid"].get<pid_t>();
  }

  TempDir dir_;
  std::string pidfile_, fail_, restarts_;
  Subprocess app_;
  std::unique_ptr<WatchdProcess> watchd_;
  size_t log_from_ = 0;
};

TEST_F(StateFileE2eTest, APausedServiceStaysPausedAfterKill9) {
  Make();
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  ASSERT_TRUE(WaitForState(*watchd_, "app", "ok")) << watchd_->Log();
  WatchctlResult r = RunWatchctl(watchd_->control_socket(), {"pause", "app"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // On disk within about a second of the pause.
  ASSERT_TRUE(WaitForSaved([](const json& app) { return app["paused"]; }))
      << ReadFile(StatePath());

  Kill();
  StartAgain();
  ASSERT_TRUE(WaitForState(*watchd_, "app", "unmonitored")) << RunLog();
  EXPECT_TRUE(HasLine(RunLog(), {"restored the state of 1 of 1 services from " +
                                 StatePath() + " (paused: app)"}))
      << RunLog();
  EXPECT_TRUE(HasLine(RunLog(), {"service app: ok -> unmonitored: paused by "
                                 "operator"}))
      << RunLog();

  // Still the operator's to resume; and resumed is kept in turn.
  r = RunWatchctl(watchd_->control_socket(), {"resume", "app"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(WaitForState(*watchd_, "app", "ok")) << RunLog();
  EXPECT_TRUE(WaitForSaved([](const json& app) { return !app["paused"]; }));
}

// restart_limit is 2 within 10m. One restart before the kill and one
// after make two: the third failure finds the limit reached. Without the
// state file the budget would start afresh and a third restart happen.
TEST_F(StateFileE2eTest, RestartsBeforeKill9CountTowardRestartLimit) {
  Make();
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  ASSERT_TRUE(WaitForState(*watchd_, "app", "ok")) << watchd_->Log();
  ASSERT_TRUE(WriteFile(fail_, ""));
  ASSERT_TRUE(WaitFor([&] { return Lines(restarts_) == 1; }, kDeadline))
      << watchd_->Log();
  ASSERT_TRUE(WaitForSaved([](const json& app) {
    return app["restarts"].size() == 1;
  })) << ReadFile(StatePath());

  Kill();
  StartAgain();
  ASSERT_TRUE(WaitForState(*watchd_, "app", "ok")) << RunLog();
  ASSERT_TRUE(WriteFile(fail_, ""));
  ASSERT_TRUE(WaitFor([&] { return Lines(restarts_) == 2; }, kDeadline))
      << RunLog();
  // Past its start_grace, healthy: then failing once more.
  ASSERT_TRUE(WaitForRunLine({"service app: starting -> ok"})) << RunLog();
  ASSERT_TRUE(WriteFile(fail_, ""));
  ASSERT_TRUE(WaitForState(*watchd_, "app", "unmonitored")) << RunLog();
  EXPECT_TRUE(HasLine(RunLog(), {"service app: restart limit reached (2 "
                                 "restarts within 10m): unmonitoring until "
                                 "resumed"}))
      << RunLog();
  EXPECT_EQ(Lines(restarts_), 2);
}

// The process that ran before the kill runs on (same pid and start time):
// no start_grace (it would show as `starting` for an hour) and no "new
// process" line.
TEST_F(StateFileE2eTest, AProcessStillRunningGetsNoGraceAndNoNewProcessLine) {
  Make("1h");
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  ASSERT_TRUE(ProcessSaved()) << ReadFile(StatePath());

  Kill();
  StartAgain();
  // Its first look has been made once status shows the pid.
  ASSERT_TRUE(WaitFor([&] { return StatusPid() == app_.pid(); }, kDeadline))
      << RunLog();
  ASSERT_TRUE(WaitForState(*watchd_, "app", "ok")) << RunLog();
  EXPECT_EQ(RunLog().find("new process"), std::string::npos) << RunLog();
  EXPECT_EQ(RunLog().find("-> starting"), std::string::npos) << RunLog();
}

// The counterpart: replaced while watchd was down, it is a new process,
// with its grace, as one replaced under a running watchd.
TEST_F(StateFileE2eTest, AProcessReplacedWhileWatchdWasDownIsNew) {
  Make("1h");
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  ASSERT_TRUE(ProcessSaved()) << ReadFile(StatePath());

  Kill();
  const pid_t old = app_.pid();
  StartApp();
  StartAgain();
  EXPECT_TRUE(WaitForRunLine({"service app: new process pid " +
                              std::to_string(app_.pid()) + " (was " +
                              std::to_string(old) + ")"}))
      << RunLog();
  EXPECT_TRUE(WaitForState(*watchd_, "app", "starting")) << RunLog();
}

TEST_F(StateFileE2eTest, ACorruptStateFileIsSetAsideAndWatchdRuns) {
  Make();
  const std::string cut =
      "{\"format\":\"watchd-state\",\"version\":1,\"services\":{\"app\":{"
      "\"paused\":tru";
  ASSERT_TRUE(WriteFile(StatePath(), cut));
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  // Before the services start: the log says so by the time they run.
  ASSERT_TRUE(
      WaitForRunLine({"state file " + StatePath() + ": not valid JSON: ",
                      "; set aside as " + StatePath() + ".bad-"}))
      << watchd_->Log();
  EXPECT_TRUE(WaitForState(*watchd_, "app", "ok")) << watchd_->Log();
  std::string aside;
  for (const auto& entry :
       std::filesystem::directory_iterator(watchd_->dir())) {
    if (entry.path().filename().string().starts_with("state.json.bad-")) {
      aside = entry.path();
    }
  }
  ASSERT_FALSE(aside.empty());
  EXPECT_EQ(ReadFile(aside), cut);
  // And a good file takes its place.
  EXPECT_TRUE(ProcessSaved()) << ReadFile(StatePath());
}

// SIGTERM saves at once, whatever the writer's interval: the pause just
// made is kept, and watchd exits 0.
TEST_F(StateFileE2eTest, SigtermSavesTheLastChange) {
  Make();
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  ASSERT_TRUE(WaitForState(*watchd_, "app", "ok")) << watchd_->Log();
  WatchctlResult r = RunWatchctl(watchd_->control_socket(), {"pause", "app"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  ASSERT_TRUE(watchd_->process().Signal(SIGTERM));
  std::optional<int> status = watchd_->process().Wait(seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  json app = SavedApp();
  ASSERT_FALSE(app.is_null()) << ReadFile(StatePath());
  EXPECT_EQ(app["paused"], true);
}

}  // namespace
}  // namespace watchd::testing
