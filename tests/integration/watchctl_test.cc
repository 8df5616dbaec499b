// watchctl against a running watchd over its control socket: every
// command and exit code, the permission split between the socket's group
// and root, and what hostile or careless clients do to the socket.
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
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

// Checks that pass (/bin/true) or fail (/bin/false) every 200ms.
std::string ExecCheck(const std::string& name, bool passes) {
  return "      " + name + ":\n        exec: [" +
         (passes ? "/bin/true" : "/bin/false") +
         "]\n        interval: 200ms\n        failures: 1\n";
}

// "good" passes, "bad" fails (alert only), "app" has a command supervisor.
std::string Services() {
  return "  good:\n    checks:\n" + ExecCheck("ok", true) +
         "  bad:\n    checks:\n" + ExecCheck("broken", false) +
         "  app:\n    supervisor: cmd\n    start_grace: 100ms\n"
         "    checks:\n" +
         ExecCheck("fine", true);
}

// Its restart appends to `restarts` and fails while `refuse` exists.
std::string Supervisors(const std::string& restarts,
                        const std::string& refuse) {
  return "supervisors:\n  cmd:\n    type: command\n"
         "    restart: [/bin/sh, -c, 'echo \"$1\" >> " +
         restarts + "; test ! -e " + refuse +
         "', sh, \"{service}\"]\n    timeout: 20s\n";
}

class WatchctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    restarts_ = dir_.File("restarts");
    refuse_ = dir_.File("refuse");
    watchd_ = std::make_unique<WatchdProcess>(
        Services(), Supervisors(restarts_, refuse_), daemon_yaml_);
    ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
    ASSERT_TRUE(WaitForState(*watchd_, "bad", "failing")) << watchd_->Log();
    ASSERT_TRUE(WaitForState(*watchd_, "good", "ok")) << watchd_->Log();
    ASSERT_TRUE(WaitForState(*watchd_, "app", "ok")) << watchd_->Log();
    // "ok" comes before a check's first result: wait for the results too.
    ASSERT_TRUE(watchd_->WaitForMetric("watchd_check_up",
                                       {{"service", "app"}, {"check", "fine"}},
                                       1, milliseconds(60000)));
    ASSERT_TRUE(watchd_->WaitForMetric("watchd_check_up",
                                       {{"service", "good"}, {"check", "ok"}},
                                       1, milliseconds(60000)));
  }
  WatchctlResult Ctl(const std::vector<std::string>& args,
                     const WatchctlOptions& o = {}) {
    return RunWatchctl(watchd_->control_socket(), args, o);
  }

  TempDir dir_;
  std::string restarts_, refuse_;
  std::string daemon_yaml_;
  std::unique_ptr<WatchdProcess> watchd_;
};

TEST_F(WatchctlTest, SummaryListsUnhealthyFirstAndExits3) {
  WatchctlResult r = Ctl({"summary"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("SERVICE  STATE    SINCE     REASON\n", 0), 0u)
      << r.out;
  const size_t bad = r.out.find("\nbad      failing  ");
  const size_t app = r.out.find("\napp      ok       ");
  const size_t good = r.out.find("\ngood     ok       ");
  ASSERT_NE(bad, std::string::npos) << r.out;
  ASSERT_NE(app, std::string::npos) << r.out;
  ASSERT_NE(good, std::string::npos) << r.out;
  EXPECT_LT(bad, app);
  EXPECT_LT(app, good);
  EXPECT_NE(r.out.find("check broken failing: exit 1"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("\033["), std::string::npos) << "no colour off a TTY";
  // Only healthy services named: exit 0.
  r = Ctl({"summary", "good", "app"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("bad"), std::string::npos) << r.out;
}

TEST_F(WatchctlTest, StatusShowsABlockPerService) {
  WatchctlResult r = Ctl({"status", "app"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("app  ok since ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("  supervisor  cmd (command), program app\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  restarts    0 total, 0 within 10m (limit 3)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("    fine  exec  passing  exit 0 (success, "),
            std::string::npos)
      << r.out;
  r = Ctl({"status"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("bad  failing since ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("  reason      check broken failing: exit 1\n"),
            std::string::npos)
      << r.out;
}

TEST_F(WatchctlTest, JsonIsTheDocumentedSchema) {
  WatchctlResult r = Ctl({"status", "--json", "bad"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["daemon"]["services"], 3);
  EXPECT_EQ(j["daemon"]["pid"], watchd_->process().pid());
  ASSERT_EQ(j["services"].size(), 1u);
  const auto& s = j["services"][0];
  EXPECT_EQ(s["name"], "bad");
  EXPECT_EQ(s["state"], "failing");
  EXPECT_TRUE(s["pid"].is_null());
  EXPECT_TRUE(s["supervisor"].is_null());
  ASSERT_EQ(s["checks"].size(), 1u);
  EXPECT_EQ(s["checks"][0]["name"], "broken");
  EXPECT_EQ(s["checks"][0]["kind"], "exec");
  EXPECT_EQ(s["checks"][0]["state"], "failing");
  EXPECT_EQ(s["checks"][0]["last"]["result"], "failure");
  EXPECT_TRUE(s["checks"][0]["last"]["latency_seconds"].is_number());
  EXPECT_EQ(j["v"], 1) << "the reply as the daemon sent it";
  EXPECT_EQ(j["states"], nlohmann::json({{"failing", 1}}));
  r = Ctl({"summary", "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "one line";
  j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["states"], nlohmann::json({{"failing", 1}, {"ok", 2}}));
  ASSERT_EQ(j["services"].size(), 3u);
  EXPECT_EQ(j["services"][0].size(), 4u) << "name, state, reason, since";
  // Unhealthy first, then by name (config order: good, bad, app).
  EXPECT_EQ(j["services"][0]["name"], "bad");
  EXPECT_EQ(j["services"][1]["name"], "app");
  EXPECT_EQ(j["services"][2]["name"], "good");
  r = Ctl({"summary", "--json", "good", "app"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["states"], nlohmann::json({{"ok", 2}}));
  // An error reply is printed too, with its exit code.
  r = Ctl({"status", "--json", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"]["code"], "unknown_service");
  EXPECT_EQ(r.err, "");
}

TEST_F(WatchctlTest, UnknownServiceExits2) {
  for (const char* cmd : {"status", "summary", "restart", "pause", "resume"}) {
    WatchctlResult r = Ctl({cmd, "nosuch"});
    EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.out << r.err;
    EXPECT_EQ(r.err, "watchctl: no service 'nosuch'\n") << cmd;
  }
  WatchctlResult r = Ctl({"pause", "zz*"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "watchctl: no service 'zz*'\n");
}

TEST_F(WatchctlTest, PauseAndResume) {
  WatchctlResult r = Ctl({"pause", "bad", "app"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "bad: paused (unmonitored)\napp: paused (unmonitored)\n");
  EXPECT_TRUE(WaitForState(*watchd_, "app", "unmonitored"));
  r = Ctl({"status", "app"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.out.find("  reason      paused by operator\n"), std::string::npos)
      << r.out;
  r = Ctl({"resume", "--all"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(WaitForState(*watchd_, "app", "ok"));
  EXPECT_TRUE(WaitForState(*watchd_, "bad", "failing"));
  EXPECT_TRUE(watchd_->WaitForLog("control: pause app by uid 0", seconds(5)));
}

TEST_F(WatchctlTest, RestartWaitsForTheSupervisor) {
  WatchctlResult r = Ctl({"restart", "a*"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "app: restarted\n");
  EXPECT_EQ(ReadFile(restarts_), "app\n");
  // A failing restart command: exit 1 with the supervisor's error.
  ASSERT_TRUE(WriteFile(refuse_, ""));
  r = Ctl({"restart", "app"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.err.rfind("watchctl: app: ", 0), 0u) << r.err;
  EXPECT_EQ(ReadFile(restarts_), "app\napp\n");
  // No supervisor to ask.
  r = Ctl({"restart", "good"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "watchctl: good: service good has no supervisor\n");
}

TEST_F(WatchctlTest, VersionListAndUsage) {
  WatchctlResult r = Ctl({"version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("watchctl "), std::string::npos);
  EXPECT_NE(r.out.find("watchd "), std::string::npos);
  r = Ctl({"list"});
  EXPECT_EQ(r.out, "app\nbad\ngood\n");
  r = Ctl({"frobnicate"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
  r = Ctl({"restart"});
  EXPECT_EQ(r.exit_code, 1);
  r = Ctl({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("exit: 0 ok, 1 error, 2 unknown service"),
            std::string::npos);
}

TEST_F(WatchctlTest, UnreachableDaemonExits4) {
  WatchctlResult r = RunWatchctl(dir_.File("nothing.sock"), {"summary"});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, "watchctl: cannot reach watchd at " +
                       dir_.File("nothing.sock") +
                       ": No such file or directory (is watchd running?)\n");
  // The socket path from the config named with -c.
  r = RunWatchctl("", {"-c", watchd_->config_path(), "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "app\nbad\ngood\n");
  watchd_->Stop();
  r = Ctl({"summary"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  struct stat st;
  EXPECT_NE(lstat(watchd_->control_socket().c_str(), &st), 0)
      << "the socket is removed at exit";
}

// What bash completes for `words` (the last one being completed) with
// watchctl's completion script and the built watchctl first on PATH.
std::string Complete(const std::vector<std::string>& words) {
  std::string list;
  for (const auto& w : words) list += " '" + w + "'";
  const std::string bin = BinaryPath("watchctl");
  const std::string cmd =
      "PATH='" + bin.substr(0, bin.rfind('/')) + "':$PATH bash -c '" +
      "source " + SourcePath("conf/bash-completion/watchctl") +
      "; COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); _watchctl; "
      "printf \"%s\\n\" \"${COMPREPLY[@]}\"' bash" +
      list;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return "<popen failed>";
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  pclose(f);
  return out;
}

TEST_F(WatchctlTest, BashCompletesCommandsAndServiceNames) {
  EXPECT_EQ(Complete({"watchctl", "s"}), "status\nsummary\n");
  EXPECT_EQ(
      Complete({"watchctl", "-s", watchd_->control_socket(), "restart", "a"}),
      "app\n");
  EXPECT_EQ(Complete({"watchctl", "--socket", watchd_->control_socket(),
                      "status", ""}),
            "app\nbad\ngood\n");
  EXPECT_EQ(Complete({"watchctl", "--col"}), "--color\n");
}

// Raw bytes on the socket: one client's request as written.
std::string Exchange(const std::string& path, const std::string& bytes,
                     bool shutdown_write = true) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "<no connect>";
  }
  timeval tv{20, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (shutdown_write) shutdown(fd, SHUT_WR);
  std::string in;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) in.append(buf, n);
  close(fd);
  return in;
}

// The message of an error reply line.
std::string ErrorOf(const std::string& reply) {
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object() || !j.contains("error"))
    return "<not an error: " + reply + ">";
  return j["error"].value("message", "");
}

TEST_F(WatchctlTest, HostileClientsGetErrorsAndTheDaemonStaysOnSchedule) {
  const std::string path = watchd_->control_socket();
  EXPECT_NE(Exchange(path, "garbage\n").find("\"request is not valid JSON\""),
            std::string::npos);
  EXPECT_NE(Exchange(path, "{\"v\":9,\"cmd\":\"status\"}\n")
                .find("protocol version 9 is not supported"),
            std::string::npos);
  EXPECT_NE(Exchange(path, "{\"v\":1,\"cmd\":\"nope\"}\n")
                .find("unknown command 'nope'"),
            std::string::npos);
  EXPECT_EQ(
      ErrorOf(Exchange(path, "{\"v\":1,\"cmd\":\"pause\",\"services\":7}\n")),
      "\"services\" must be an array of names or globs");
  EXPECT_NE(Exchange(path, std::string(200000, '{'))
                .find("request longer than 65536 bytes"),
            std::string::npos);
  EXPECT_NE(
      Exchange(path, "{\"v\":1,\"cmd\":\"stat").find("not ended by a newline"),
      std::string::npos);
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); ++i)
    binary[i] = static_cast<char>(i * 7);
  EXPECT_NE(Exchange(path, binary).find("\"ok\":false"), std::string::npos);
  // Fifty clients that connect and say nothing hold no one up.
  std::vector<int> idle;
  for (int i = 0; i < 50; ++i) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    idle.push_back(fd);
  }
  WatchctlResult r = Ctl({"list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (int fd : idle) close(fd);
  EXPECT_TRUE(watchd_->process().running());
  // Still on schedule: the checks keep running.
  const double before =
      Sum(watchd_->Scrape(), "watchd_probes_total", {{"service", "good"}});
  EXPECT_TRUE(WaitFor(
      [&] {
        return Sum(watchd_->Scrape(), "watchd_probes_total",
                   {{"service", "good"}}) >= before + 5;
      },
      milliseconds(20000)));
}

TEST_F(WatchctlTest, SecondWatchdOnTheSocketIsRefusedAStaleOneReplaced) {
  WatchdProcess second("  x:\n    checks:\n" + ExecCheck("t", true));
  // Point the second at the first one's socket.
  std::string config = ReadFile(second.config_path());
  const std::string own = second.control_socket();
  config.replace(config.find(own), own.size(), watchd_->control_socket());
  ASSERT_TRUE(WriteFile(second.config_path(), config));
  EXPECT_FALSE(second.Start());
  EXPECT_NE(second.Log().find("another watchd is listening on " +
                              watchd_->control_socket()),
            std::string::npos)
      << second.Log();
  EXPECT_EQ(Ctl({"list"}).exit_code, 0) << "the first one is untouched";
  // kill -9 leaves the socket file behind; the next start replaces it.
  watchd_->process().Signal(SIGKILL);
  ASSERT_TRUE(watchd_->process().Wait(milliseconds(10000)).has_value());
  watchd_->Stop();  // reaped already; lets the same process start again
  struct stat st;
  ASSERT_EQ(lstat(watchd_->control_socket().c_str(), &st), 0);
  EXPECT_EQ(Ctl({"list"}).exit_code, 4);
  ASSERT_TRUE(watchd_->Start()) << watchd_->Log();
  EXPECT_TRUE(WaitFor([&] { return Ctl({"list"}).exit_code == 0; },
                      milliseconds(20000)));
}

// 200 `watchctl status` at once while 1,000 checks run: every one is
// answered, and the checks stay on schedule.
TEST(WatchctlLoadTest, TwoHundredStatusCallsBesideAThousandChecks) {
  TempDir dir;
  const int port = FreePort();
  Subprocess server;
  ASSERT_TRUE(StartTestServer(
      &server, "tests/servers/tcp_server.py",
      {"--port", std::to_string(port), "--mode", "reply", "--reply", "ok"},
      dir.File("ready"), dir.File("server.log")));
  std::string services;
  for (int i = 0; i < 1000; ++i) {
    services += "  s" + std::to_string(i) +
                ":\n    checks:\n      port:\n        tcp: {host: 127.0.0.1, "
                "port: " +
                std::to_string(port) +
                "}\n        interval: 5s\n        timeout: 4s\n";
  }
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  // Every check has run (the first runs spread over 5 s).
  ASSERT_TRUE(WaitFor(
      [&] { return Sum(watchd.Scrape(), "watchd_probes_total", {}) >= 1000; },
      milliseconds(60000), milliseconds(200)));
  // Raw clients on threads: 200 watchctl processes parsing 500 KB each
  // would starve watchd of the two cores, which is not what is measured.
  std::vector<std::string> replies(200);
  std::vector<std::thread> threads;
  for (int i = 0; i < 200; ++i) {
    threads.emplace_back([&, i] {
      replies[i] =
          Exchange(watchd.control_socket(), "{\"v\":1,\"cmd\":\"status\"}\n");
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 200; ++i) {
    auto j = nlohmann::json::parse(replies[i], nullptr, false);
    ASSERT_TRUE(j.is_object()) << i << ": " << replies[i].substr(0, 200);
    EXPECT_EQ(j["services"].size(), 1000u) << i;
  }
  EXPECT_TRUE(watchd.process().running());
  auto p99 = HistogramQuantile(watchd.Scrape(),
                               "watchd_scheduler_lateness_seconds", 0.99);
  ASSERT_TRUE(p99.has_value());
  // One request is served per pass of the loop, so a probe waits at most
  // one status of 1,000 services (a few ms; tens under ASan) behind it.
  EXPECT_LE(*p99, 0.1) << "probes started late while watchctl was served";
}

// A status of 1,000 services is written across several passes of the loop;
// a reload that removes half of them lands in the middle of some. Each
// reply is whole and sorted, names no service twice and only services that
// ran when it was asked, and nothing is read after it was destroyed (ASan
// would say so).
TEST(WatchctlLoadTest, StatusWrittenInSlicesSurvivesAReloadRemovingServices) {
  TempDir dir;
  const int port = FreePort();
  Subprocess server;
  ASSERT_TRUE(StartTestServer(
      &server, "tests/servers/tcp_server.py",
      {"--port", std::to_string(port), "--mode", "reply", "--reply", "ok"},
      dir.File("ready"), dir.File("server.log")));
  auto services = [&](int n) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      out += "  s" + std::to_string(i) +
             ":\n    checks:\n      port:\n        tcp: {host: 127.0.0.1, "
             "port: " +
             std::to_string(port) + "}\n        interval: 5s\n";
    }
    return out;
  };
  WatchdProcess watchd(services(1000));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.Rewrite(services(500)));
  // Four clients ask again and again until the reload has been answered
  // (at most 500 times each), so that some status is being written when
  // the reload applies.
  std::atomic<bool> reloaded{false};
  std::atomic<int> answered{0};
  std::vector<std::vector<std::string>> asked(4);
  std::vector<std::thread> threads;
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      for (int k = 0; k < 500 && !reloaded; ++k) {
        asked[c].push_back(Exchange(watchd.control_socket(),
                                    "{\"v\":1,\"cmd\":\"status\"}\n"));
        ++answered;
      }
    });
  }
  EXPECT_TRUE(WaitFor([&] { return answered >= 4; }, seconds(30)));
  WatchctlResult reload = RunWatchctl(watchd.control_socket(), {"reload"});
  reloaded = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(reload.exit_code, 0) << reload.out << reload.err;
  std::vector<std::string> replies;
  for (const auto& a : asked) replies.insert(replies.end(), a.begin(), a.end());
  for (size_t i = 0; i < replies.size(); ++i) {
    auto j = nlohmann::json::parse(replies[i], nullptr, false);
    ASSERT_TRUE(j.is_object()) << i << ": " << replies[i].substr(0, 200);
    EXPECT_EQ(j["ok"], true) << i;
    std::vector<std::string> names;
    for (const auto& s : j["services"]) names.push_back(s.value("name", ""));
    EXPECT_GE(names.size(), 500u) << i;
    EXPECT_LE(names.size(), 1000u) << i;
    std::set<std::string> distinct(names.begin(), names.end());
    EXPECT_EQ(distinct.size(), names.size()) << i;
    for (const std::string& name : names) {
      ASSERT_EQ(name[0], 's') << name;
      ASSERT_LT(std::stoi(name.substr(1)), 1000) << name;
    }
    // All pending or all ok here, or the same state: then by name.
    bool sorted = true;
    for (size_t k = 1; k < names.size(); ++k) {
      if (j["services"][k - 1]["state"] == j["services"][k]["state"] &&
          names[k - 1] > names[k]) {
        sorted = false;
      }
    }
    EXPECT_TRUE(sorted) << i;
  }
  EXPECT_TRUE(watchd.process().running());
  WatchctlResult r = RunWatchctl(watchd.control_socket(), {"list"});
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 500) << r.err;
}

// The socket's group may read; only root and watchd's uid may act.
class WatchctlPermissionTest : public WatchctlTest {
 protected:
  void SetUp() override {
    group* g = getgrnam("nogroup");
    if (g == nullptr) GTEST_SKIP() << "no group 'nogroup' on this machine";
    gid_ = g->gr_gid;
    daemon_yaml_ = "  control_group: nogroup\n";
    WatchctlTest::SetUp();
    // The test's temporary directory is 0700: let others through to the
    // socket's own 0750 directory... which here is that same directory.
    chmod(watchd_->dir().c_str(), 0755);
  }
  gid_t gid_ = 0;
};

TEST_F(WatchctlPermissionTest, GroupMayReadOnlyRootMayAct) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to run as another user";
  struct stat st;
  ASSERT_EQ(lstat(watchd_->control_socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, gid_);
  WatchctlOptions nobody;
  nobody.uid = 65534;
  nobody.gid = gid_;
  WatchctlResult r = Ctl({"summary"}, nobody);
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("bad"), std::string::npos);
  for (const char* cmd : {"pause", "resume", "restart"}) {
    r = Ctl({cmd, "app"}, nobody);
    EXPECT_EQ(r.exit_code, 1) << cmd << r.err;
    EXPECT_EQ(r.err, std::string("watchctl: ") + cmd +
                         " is allowed only to root and to watchd's uid (0)\n");
  }
  r = Ctl({"reload"}, nobody);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(
      watchd_->WaitForLog("control: refused pause from uid 65534", seconds(5)));
  EXPECT_EQ(ReadFile(restarts_), "") << "nothing was restarted";
  EXPECT_TRUE(WaitForState(*watchd_, "app", "ok"));
  // Outside the group: the socket cannot even be opened.
  WatchctlOptions stranger;
  stranger.uid = 65534;
  stranger.gid = 65533;
  r = Ctl({"summary"}, stranger);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace watchd::testing
