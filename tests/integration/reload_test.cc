// Reload (SIGHUP and `watchctl reload`) of a running watchd: a broken file
// keeps the running configuration, every error reported; a good one adds,
// removes and changes services and checks while probes and restarts are
// in flight, and what did not change runs on untouched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
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

// Puts a FIFO that nobody writes in the place of `path`, in one rename.
bool ReplaceWithFifo(const std::string& path) {
  const std::string fifo = path + ".fifo";
  unlink(fifo.c_str());
  return mkfifo(fifo.c_str(), 0600) == 0 &&
         rename(fifo.c_str(), path.c_str()) == 0;
}

// What the counters of `after` gained since `before`: the histogram of
// what happened between two scrapes.
std::vector<Sample> Between(const std::vector<Sample>& before,
                            std::vector<Sample> after) {
  for (Sample& s : after) {
    for (const Sample& b : before) {
      if (b.name == s.name && b.labels == s.labels) {
        s.value -= b.value;
        break;
      }
    }
  }
  return after;
}

// A reload that fails, by watchctl, with `error` among its lines.
::testing::AssertionResult ReloadFailsAtOnce(
    const WatchdProcess& watchd, const std::vector<std::string>& error) {
  WatchctlOptions options;
  options.timeout = seconds(20);
  const auto asked = std::chrono::steady_clock::now();
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"}, options);
  const auto took = std::chrono::steady_clock::now() - asked;
  // Reading a file takes microseconds: seconds would mean the reload waited
  // for a writer, and a reload that never ends holds every later one.
  if (r.exit_code != 1 || !HasLine(r.err, error) ||
      !HasLine(r.err, {"reload failed; watchd keeps its running "
                       "configuration"}) ||
      took > seconds(10)) {
    return ::testing::AssertionFailure()
           << "exit " << r.exit_code << " after "
           << std::chrono::duration_cast<milliseconds>(took).count()
           << " ms\nstdout: " << r.out << "\nstderr: " << r.err << "\nlog:\n"
           << watchd.Log();
  }
  return ::testing::AssertionSuccess();
}

// `services` and a service db with one check: the reload takes, says so,
// and db's check runs.
void ExpectReloadAddsDb(WatchdProcess& watchd, const std::string& services) {
  ASSERT_TRUE(watchd.Rewrite(services + "  db:\n    checks:\n" +
                             ExecCheck("port", "/bin/true")));
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << watchd.Log();
  EXPECT_NE(r.out.find("reloaded"), std::string::npos) << r.out;
  EXPECT_TRUE(watchd.WaitForMetric("watchd_config_last_reload_successful", {},
                                   1, seconds(10)));
  EXPECT_TRUE(
      WaitFor([&] { return Probes(watchd, "db", "port") >= 1; }, kDeadline));
  EXPECT_TRUE(
      watchd.WaitForLog("added: db; removed: none; changed: none", seconds(10)))
      << watchd.Log();
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
  ExpectReloadAddsDb(watchd, services);
}

// A file someone else could have changed since the start is refused as a
// broken one is: the running configuration stays (docs/security.md).
TEST(Reload, AFileMadeGroupWritableIsRefusedAndTheOldOneRunsOn) {
  const std::string services =
      "  web:\n    checks:\n" + ExecCheck("alive", "/bin/true");
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.Rewrite(services + "  db:\n    checks:\n" +
                             ExecCheck("port", "/bin/true")));
  ASSERT_EQ(chmod(watchd.config_path().c_str(), 0664), 0);
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("refusing " + watchd.config_path() +
                       ": it is writable by group or others"),
            std::string::npos)
      << r.err;
  const double before = Probes(watchd, "web", "alive");
  EXPECT_TRUE(WaitFor(
      [&] { return Probes(watchd, "web", "alive") >= before + 3; }, kDeadline));
  EXPECT_EQ(Probes(watchd, "db", "port"), 0);

  ASSERT_EQ(chmod(watchd.config_path().c_str(), 0644), 0);
  ExpectReloadAddsDb(watchd, services);
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

// docs/configuration.md, "Reload": whether a program is known to its
// supervisor is asked only at start. A reload adds a service whose program
// supervisord does not know; it takes, and the service shows why as its
// state's reason, while the same file is refused at start.
TEST(Reload, NewServiceWithAProgramTheSupervisorDoesNotKnowShowsItAsReason) {
  Supervisord supervisord;
  supervisord.AddProgram("app", {"/bin/sleep", "100000"});
  ASSERT_TRUE(supervisord.Start()) << supervisord.Log();
  const std::string supervisors = SupervisordSection(supervisord.url());
  const std::string app = Service("app", ProcessCheck("alive"));
  const std::string ghost = Service("ghost", ProcessCheck("alive"));
  WatchdProcess watchd(app, supervisors);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(Settled(watchd, "app", "alive"));

  ASSERT_TRUE(watchd.Rewrite(app + ghost, supervisors));
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog("added: ghost; removed: none; changed: none",
                                seconds(10)))
      << watchd.Log();

  const std::string reason = "supervisord has no program 'ghost'";
  nlohmann::json status;
  EXPECT_TRUE(WaitFor(
      [&] {
        status = ServiceStatus(watchd, "ghost");
        return status.is_object() && status.value("reason", "") == reason;
      },
      kDeadline))
      << status.dump() << "\n"
      << watchd.Log();
  EXPECT_EQ(status.value("state", ""), "unknown") << status.dump();
  EXPECT_TRUE(WaitForState(watchd, "ghost", "unknown"));
  // It stays so, and is not taken for a dead process: nothing is started.
  const double runs = Probes(watchd, "ghost", "alive");
  EXPECT_TRUE(WaitFor(
      [&] { return Probes(watchd, "ghost", "alive") >= runs + 3; }, kDeadline));
  status = ServiceStatus(watchd, "ghost");
  EXPECT_EQ(status.value("state", ""), "unknown") << status.dump();
  EXPECT_EQ(status.value("reason", ""), reason) << status.dump();
  EXPECT_EQ(Restarts(watchd, "ghost"), 0);
  EXPECT_FALSE(HasLine(watchd.Log(), {"service ghost: asking the supervisor"}))
      << watchd.Log();
  // The service the supervisor knows runs on untouched.
  EXPECT_EQ(ServiceStatus(watchd, "app").value("state", ""), "ok");
  EXPECT_EQ(Restarts(watchd, "app"), 0);

  // At start, the same file is refused, naming the program. (Its metrics
  // may answer before the supervisor does: the exit is what tells.)
  WatchdProcess fresh(app + ghost, supervisors);
  fresh.Start();
  const std::optional<int> exit = fresh.process().Wait(kDeadline);
  ASSERT_TRUE(exit.has_value()) << fresh.Log();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) != 0) << *exit << "\n"
                                                           << fresh.Log();
  EXPECT_TRUE(
      HasLine(fresh.Log(), {"cannot start", "service ghost: " + reason}))
      << fresh.Log();
}

// The configuration file replaced by a FIFO nobody writes: the reload
// fails at once without waiting for a writer, the running configuration
// runs on, on schedule, and watchctl is answered meanwhile.
TEST(Reload, ConfigReplacedByAFifoFailsAtOnceAndTheOldOneRunsOn) {
  const std::string services =
      "  web:\n    checks:\n" + ExecCheck("alive", "/bin/true");
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(
      WaitFor([&] { return Probes(watchd, "web", "alive") >= 2; }, kDeadline));
  const std::vector<Sample> before = watchd.Scrape();
  const double runs = Probes(watchd, "web", "alive");

  ASSERT_TRUE(ReplaceWithFifo(watchd.config_path()));
  const std::string error =
      "cannot read " + watchd.config_path() + ": not a regular file";
  // A reload that waited would hold every later one: nothing to go on with.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ReloadFailsAtOnce(watchd, {error}));
  EXPECT_TRUE(watchd.WaitForMetric("watchd_config_last_reload_successful", {},
                                   0, seconds(10)));
  // By SIGHUP too: logged, and watchd stays up.
  const size_t logged = Count(watchd.Log(), error);
  ASSERT_EQ(kill(watchd.process().pid(), SIGHUP), 0);
  EXPECT_TRUE(
      WaitFor([&] { return Count(watchd.Log(), error) > logged; }, kDeadline))
      << watchd.Log();

  // The old check runs on, none of its runs late, and status is answered.
  EXPECT_TRUE(WaitFor(
      [&] { return Probes(watchd, "web", "alive") >= runs + 10; }, kDeadline));
  WatchctlResult status =
      RunWatchctl(watchd.control_socket(), {"status", "--json"});
  EXPECT_TRUE(status.exit_code == 0 || status.exit_code == 3)
      << status.exit_code << status.err;
  EXPECT_TRUE(ServiceStatus(watchd, "web").is_object()) << status.out;
  auto p99 = HistogramQuantile(Between(before, watchd.Scrape()),
                               "watchd_scheduler_lateness_seconds", 0.99);
  ASSERT_TRUE(p99.has_value());
  // One 200 ms check: its p99 is its latest run. A loaded 2-core box (or
  // ASan) starts one late by tens of ms now and then; a loop held up by the
  // reload would be seconds late.
  EXPECT_LE(*p99, 0.25);
  EXPECT_TRUE(watchd.process().running());

  // A regular file again: the reload takes.
  ExpectReloadAddsDb(watchd, services);
}

// The same for included files: one an include names and one a pattern
// matches, each reported at the include that reads it.
TEST(Reload, IncludedFileReplacedByAFifoFailsAtOnceAndTheOldOneRunsOn) {
  const std::string services =
      "  web:\n    checks:\n" + ExecCheck("alive", "/bin/true");
  const std::string includes = "include: [extra.yaml, conf.d/*.yaml]\n";
  const std::string db =
      "services:\n  db:\n    checks:\n" + ExecCheck("alive", "/bin/true");
  WatchdProcess watchd(services, includes);
  const std::string extra = watchd.dir() + "/extra.yaml";
  const std::string conf_d = watchd.dir() + "/conf.d";
  ASSERT_TRUE(WriteFile(extra, db));
  ASSERT_TRUE(std::filesystem::create_directory(conf_d));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(
      WaitFor([&] { return Probes(watchd, "db", "alive") >= 2; }, kDeadline));

  ASSERT_TRUE(ReplaceWithFifo(extra));
  ASSERT_TRUE(ReloadFailsAtOnce(
      watchd, {watchd.config_path() + ":",
               "cannot read " + extra + ": not a regular file"}));
  // db, which that file defined, runs on.
  double runs = Probes(watchd, "db", "alive");
  EXPECT_TRUE(WaitFor([&] { return Probes(watchd, "db", "alive") >= runs + 3; },
                      kDeadline));

  ASSERT_TRUE(ReplaceFile(extra, db));
  const std::string late = conf_d + "/late.yaml";
  ASSERT_EQ(mkfifo(late.c_str(), 0600), 0);
  ASSERT_TRUE(ReloadFailsAtOnce(
      watchd, {watchd.config_path() + ":",
               "cannot read " + late + ": not a regular file"}));
  runs = Probes(watchd, "db", "alive");
  EXPECT_TRUE(WaitFor([&] { return Probes(watchd, "db", "alive") >= runs + 3; },
                      kDeadline));
  EXPECT_TRUE(watchd.process().running());

  // Regular files again: the reload takes.
  ASSERT_EQ(unlink(late.c_str()), 0);
  ASSERT_TRUE(WriteFile(
      conf_d + "/cache.yaml",
      "services:\n  cache:\n    checks:\n" + ExecCheck("alive", "/bin/true")));
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog("added: cache; removed: none; changed: none",
                                seconds(10)))
      << watchd.Log();
  EXPECT_TRUE(WaitFor([&] { return Probes(watchd, "cache", "alive") >= 1; },
                      kDeadline));
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

// A file the service's check fails on while it exists.
std::string FlagService(const std::string& name, const std::string& flag,
                        const std::string& notify) {
  return "  " + name + ":\n    notify: [" + notify + "]\n    checks:\n" +
         ExecCheck("flag", "/bin/sh, -c, 'test ! -e " + flag + "'");
}

TEST(Reload, ANotifyListAndTheOrderChangeWithoutRebuildingAnything) {
  TempDir dir;
  const std::string flag = dir.File("flag");
  const std::string dbflag = dir.File("dbflag");
  // Each target leaves a file per service it was told about.
  const std::string targets =
      "notify:\n  targets:\n"
      "    a:\n      command: [/bin/sh, -c, 'touch \"$0-$1\"', " +
      dir.File("a") +
      ", \"{service}\"]\n      events: [failing]\n"
      "    b:\n      command: [/bin/sh, -c, 'touch \"$0-$1\"', " +
      dir.File("b") +
      ", \"{service}\"]\n      events: [failing]\n"
      "  coalesce: 0s\n";
  WatchdProcess watchd(
      FlagService("web", flag, "a") + FlagService("db", dbflag, "a"), targets);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "web", "ok")) << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "db", "ok")) << watchd.Log();
  // Passing, not pending: the verdict whose age is compared below.
  auto web_check_state = [&] {
    const nlohmann::json s = ServiceStatus(watchd, "web");
    if (!s.is_object() || !s.contains("checks") || s["checks"].empty()) {
      return std::string();
    }
    return s["checks"][0].value("state", "");
  };
  ASSERT_TRUE(
      WaitFor([&] { return web_check_state() == "passing"; }, kDeadline))
      << watchd.Log();
  const std::string since = CheckSince(watchd, "web", "flag");
  ASSERT_FALSE(since.empty());

  // web's events go to b now, and the services are listed the other way.
  ASSERT_TRUE(watchd.Rewrite(
      FlagService("db", dbflag, "a") + FlagService("web", flag, "b"), targets));
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"reload"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err << watchd.Log();
  EXPECT_TRUE(WaitForLine(watchd, {"reloaded", "added: none", "removed: none",
                                   "changed: none", "2 checks unchanged"}))
      << watchd.Log();
  // Nothing was rebuilt: the check's verdict is as old as before.
  EXPECT_EQ(CheckSince(watchd, "web", "flag"), since);

  // web's events go to b, and db's, whose list did not change, still to
  // a only (a reload reconfigures the notifier: every list is set again).
  ASSERT_TRUE(WriteFile(flag, ""));
  ASSERT_TRUE(WriteFile(dbflag, ""));
  EXPECT_TRUE(WaitFor(
      [&] {
        return std::filesystem::exists(dir.File("b-web")) &&
               std::filesystem::exists(dir.File("a-db"));
      },
      kDeadline))
      << watchd.Log();
  EXPECT_TRUE(WaitForState(watchd, "web", "failing"));
  EXPECT_TRUE(WaitForState(watchd, "db", "failing"));
  EXPECT_FALSE(std::filesystem::exists(dir.File("a-web")));
  EXPECT_FALSE(std::filesystem::exists(dir.File("b-db")));
  // One event delivered to each target (counted once its command has
  // exited), none to the other.
  auto sent = [&](const char* target) {
    return Sum(watchd.Scrape(), "watchd_notifications_total",
               {{"target", target}, {"result", "sent"}});
  };
  EXPECT_TRUE(
      WaitFor([&] { return sent("a") >= 1 && sent("b") >= 1; }, kDeadline));
  EXPECT_EQ(sent("a"), 1);
  EXPECT_EQ(sent("b"), 1);
  EXPECT_EQ(Status(watchd)["states"], nlohmann::json({{"failing", 2}}));
}

}  // namespace
}  // namespace watchd::testing
