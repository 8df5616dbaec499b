// Reload (SIGHUP and `watchctl reload`) of a running watchd: a broken file
// keeps the running configuration, every error reported; a good one adds,
// removes and changes services and checks while probes and restarts are
// in flight, and what did not change runs on untouched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/supervision_e2e.h"
#include "tests/support/wait.h"
#include "tests/support/watchctl_run.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ExecCheck(const std::string& name, const std::string& program,
                      const std::string& interval = "200ms") {
  return "      " + name + ":\n        exec: [" + program +
         "]\n        interval: " + interval + "\n        failures: 1\n";
}

std::string HttpCheckTo(const std::string& name, const std::string& url) {
  // At once (no jitter), then hanging for 20 s: in flight at every reload.
  return "      " + name + ":\n        http: {url: \"" + url +
         "\"}\n        interval: 30s\n        timeout: 20s\n        jitter: "
         "0\n";
}

double Probes(const WatchdProcess& watchd, const std::string& service,
              const std::string& check) {
  return Sum(watchd.Scrape(), "watchd_probes_total",
             {{"service", service}, {"check", check}});
}

bool HasSeries(const std::string& text, const std::string& service) {
  return text.find("service=\"" + service + "\"") != std::string::npos;
}

nlohmann::json Status(const WatchdProcess& watchd) {
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"status", "--json"});
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

nlohmann::json ServiceStatus(const WatchdProcess& watchd,
                             const std::string& name) {
  for (const auto& s : Status(watchd).value("services", nlohmann::json())) {
    if (s.value("name", "") == name) return s;
  }
  return nullptr;
}

// When the check's state last changed, as `watchctl status` says.
std::string CheckSince(const WatchdProcess& watchd, const std::string& service,
                       const std::string& check) {
  const nlohmann::json s = ServiceStatus(watchd, service);
  if (!s.is_object()) return "";
  for (const auto& c : s.value("checks", nlohmann::json::array())) {
    if (c.value("name", "") == check) return c.value("since", "");
  }
  return "";
}

TEST(Reload, BrokenFileKeepsTheRunningConfigurationAndNamesEveryError) {
  const std::string services =
      "  web:\n    checks:\n" + ExecCheck("alive", "/bin/true");
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(
      WaitFor([&] { return Probes(watchd, "web", "alive") >= 2; }, kDeadline));

  // Two mistakes, both reported in one pass at their places.
  ASSERT_TRUE(watchd.Rewrite(services +
                             "  db:\n    restart_limt: 3\n    checks:\n" +
                             ExecCheck("port", "/bin/true", "soon")));
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("reload failed; watchd keeps its running "
                       "configuration"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(watchd.config_path() + ":14:5: unknown key "
                                              "'restart_limt'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find(watchd.config_path() + ":18:19: invalid duration 'soon'"),
      std::string::npos)
      << r.err;
  EXPECT_TRUE(watchd.WaitForMetric("watchd_config_last_reload_successful", {},
                                   0, seconds(10)));
  // The old checks run on.
  const double before = Probes(watchd, "web", "alive");
  EXPECT_TRUE(WaitFor(
      [&] { return Probes(watchd, "web", "alive") >= before + 3; }, kDeadline));

  // The same by SIGHUP: logged, and watchd stays up.
  ASSERT_EQ(kill(watchd.process().pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitFor([&] { return Count(watchd.Log(), "restart_limt") >= 2; },
                      kDeadline))
      << watchd.Log();
  EXPECT_TRUE(watchd.process().running());

  // Fixed: the reload takes, and says what it did.
  ASSERT_TRUE(watchd.Rewrite(services + "  db:\n    checks:\n" +
                             ExecCheck("port", "/bin/true")));
  r = RunWatchctl(watchd.control_socket(), {"reload"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("reloaded"), std::string::npos) << r.out;
  EXPECT_TRUE(watchd.WaitForMetric("watchd_config_last_reload_successful", {},
                                   1, seconds(10)));
  EXPECT_TRUE(
      WaitFor([&] { return Probes(watchd, "db", "port") >= 1; }, kDeadline));
  EXPECT_TRUE(
      watchd.WaitForLog("added: db; removed: none; changed: none", seconds(10)))
      << watchd.Log();
}

// Reloads asked while one reads the file are each answered, by a reload
// that read the file after they asked.
TEST(Reload, ConcurrentReloadsAreAllAnswered) {
  const std::string services =
      "  web:\n    checks:\n" + ExecCheck("alive", "/bin/true");
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  std::vector<std::thread> clients;
  std::vector<WatchctlResult> results(6);
  for (size_t i = 0; i < results.size(); ++i) {
    clients.emplace_back([&, i] {
      results[i] = RunWatchctl(watchd.control_socket(), {"reload"});
    });
  }
  ASSERT_EQ(kill(watchd.process().pid(), SIGHUP), 0);
  for (auto& c : clients) c.join();
  for (const WatchctlResult& r : results) {
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }
  EXPECT_TRUE(watchd.process().running());
  EXPECT_GE(Count(watchd.Log(), "reloaded " + watchd.config_path()), 2u);
}

class ReloadWithServers : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartTestServer(&hang_, "tests/servers/http_server.py",
                                {"--port", std::to_string(port_)},
                                dir_.File("ready"), dir_.File("server.log")));
  }
  std::string HangUrl() const { return Url(port_, "/hang"); }

  TempDir dir_;
  int port_ = FreePort();
  Subprocess hang_;
};

// Probes in flight (HTTP requests that never get an answer) are cancelled
// with their checks; kept checks keep their counters and verdict.
TEST_F(ReloadWithServers, AddsRemovesAndChangesWhileProbesAreInFlight) {
  const std::string keep = "  keep:\n    checks:\n" +
                           ExecCheck("alive", "/bin/true") +
                           HttpCheckTo("stalled", HangUrl());
  const std::string first =
      keep + "  slow:\n    checks:\n" + HttpCheckTo("stalled", HangUrl()) +
      "  change:\n    checks:\n" + HttpCheckTo("probe", HangUrl());
  const std::string second =
      keep + "  change:\n    checks:\n" + ExecCheck("probe", "/bin/true") +
      "  fresh:\n    checks:\n" + ExecCheck("new", "/bin/true");
  WatchdProcess watchd(first);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "keep"}, {"check", "alive"}}, 1,
                                   kDeadline));
  ASSERT_TRUE(HasSeries(watchd.ScrapeText(), "slow"));
  const std::string kept_since = CheckSince(watchd, "keep", "alive");
  ASSERT_FALSE(kept_since.empty()) << Status(watchd).dump();

  // Back and forth while the HTTP probes hang: every reload cancels or
  // starts runs in flight (ASan watches the objects they used).
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(watchd.Rewrite(i % 2 == 0 ? second : first));
    WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err << watchd.Log();
  }
  ASSERT_TRUE(watchd.Rewrite(second));
  const double kept_before = Probes(watchd, "keep", "alive");
  ASSERT_EQ(RunWatchctl(watchd.control_socket(), {"reload"}).exit_code, 0);

  // Removed: its series go. Added and changed: they run.
  EXPECT_TRUE(WaitFor([&] { return !HasSeries(watchd.ScrapeText(), "slow"); },
                      kDeadline));
  EXPECT_TRUE(watchd.WaitForMetric(
      "watchd_check_up",
      {{"service", "change"}, {"check", "probe"}, {"kind", "exec"}}, 1,
      kDeadline));
  EXPECT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "fresh"}, {"check", "new"}}, 1,
                                   kDeadline));
  // Kept: its counters were not reset and its verdict never left passing.
  EXPECT_GE(Probes(watchd, "keep", "alive"), kept_before);
  EXPECT_TRUE(WaitFor(
      [&] { return Probes(watchd, "keep", "alive") >= kept_before + 3; },
      kDeadline));
  EXPECT_EQ(CheckSince(watchd, "keep", "alive"), kept_since);
  EXPECT_EQ(Count(watchd.Log(), "check keep/alive (exec): pending -> passing"),
            1u)
      << watchd.Log();
  EXPECT_TRUE(watchd.process().running());
}

// A restart through a command that blocks on a FIFO until the test lets
// it go; it leaves SERVICE.started and SERVICE.done markers.
class ReloadDuringRestart : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* s : {"web", "gone"}) {
      ASSERT_EQ(mkfifo(dir_.File(std::string(s) + ".fifo").c_str(), 0600), 0);
    }
    ASSERT_TRUE(WriteFile(dir_.File("restart.sh"),
                          "touch \"$1/$2.started\"\n"
                          "read line < \"$1/$2.fifo\"\n"
                          "touch \"$1/$2.done\"\n"));
  }
  void TearDown() override {
    Release("web");
    Release("gone");
  }
  std::string Supervisors() const {
    return "supervisors:\n  cmd:\n    type: command\n"
           "    restart: [/bin/sh, " +
           dir_.File("restart.sh") + ", " + dir_.path() +
           ", \"{service}\"]\n    timeout: 60s\n";
  }
  static std::string Supervised(const std::string& name,
                                const std::string& program,
                                const std::string& grace) {
    return "  " + name + ":\n    supervisor: cmd\n    start_grace: " + grace +
           "\n    checks:\n      health:\n        exec: [" + program +
           "]\n        interval: 200ms\n        failures: 1\n"
           "        on_failure: restart\n";
  }
  bool Exists(const std::string& name) const {
    return std::filesystem::exists(dir_.File(name));
  }
  bool Release(const std::string& service) {
    int fd = open(dir_.File(service + ".fifo").c_str(), O_WRONLY | O_NONBLOCK);
    if (fd < 0) return false;
    const bool ok = write(fd, "go\n", 3) == 3;
    close(fd);
    return ok;
  }

  TempDir dir_;
};

// The restarts are let finish, not cut between their stop and start: the
// removed service goes after, the changed one's new definition takes over
// after, with the restart it lived through counted.
TEST_F(ReloadDuringRestart, RestartsInFlightFinishBeforeTheChangeApplies) {
  WatchdProcess watchd(Supervised("web", "/bin/false", "1s") +
                           Supervised("gone", "/bin/false", "1s"),
                       Supervisors());
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WaitFor([&] { return Exists("web.started"); }, kDeadline))
      << watchd.Log();
  ASSERT_TRUE(WaitFor([&] { return Exists("gone.started"); }, kDeadline))
      << watchd.Log();

  ASSERT_TRUE(
      watchd.Rewrite(Supervised("web", "/bin/true", "2s"), Supervisors()));
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << watchd.Log();
  EXPECT_TRUE(HasLine(watchd.Log(), {"service gone removed; its restart in "
                                     "flight ends first"}))
      << watchd.Log();
  EXPECT_TRUE(HasLine(watchd.Log(), {"service web changed; its restart in "
                                     "flight (and start_grace) ends before"}))
      << watchd.Log();
  // gone is no longer listed; web is, still restarting.
  nlohmann::json status = Status(watchd);
  ASSERT_EQ(status["services"].size(), 1u) << status.dump();
  EXPECT_EQ(status["services"][0].value("state", ""), "restarting");

  ASSERT_TRUE(WaitFor([&] { return Release("gone"); }, kDeadline));
  ASSERT_TRUE(WaitFor([&] { return Release("web"); }, kDeadline));
  EXPECT_TRUE(WaitFor([&] { return Exists("gone.done"); }, kDeadline));
  EXPECT_TRUE(WaitFor([&] { return Exists("web.done"); }, kDeadline));
  EXPECT_TRUE(watchd.WaitForLog("service web: its new definition takes over",
                                kDeadline))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "service gone: removed by the reload, stopped now", kDeadline))
      << watchd.Log();
  EXPECT_TRUE(WaitForState(watchd, "web", "ok")) << watchd.Log();
  nlohmann::json web = ServiceStatus(watchd, "web");
  EXPECT_EQ(web["restarts"].value("recent", -1), 1) << web.dump();
  EXPECT_TRUE(WaitFor([&] { return !HasSeries(watchd.ScrapeText(), "gone"); },
                      kDeadline));
  EXPECT_TRUE(watchd.process().running());
}

}  // namespace
}  // namespace watchd::testing
