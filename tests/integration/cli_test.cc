// The watchd command line as an operator meets it.
#include <gtest/gtest.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::seconds;

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult RunWatchd(const std::vector<std::string>& args) {
  TempDir dir;
  Subprocess p;
  std::vector<std::string> argv = {WatchdBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult run;
  if (!p.Start(argv, dir.File("out"))) return run;
  auto st = p.Wait(std::chrono::seconds(60));
  if (st && WIFEXITED(*st)) run.exit_code = WEXITSTATUS(*st);
  run.output = ReadFile(dir.File("out"));
  return run;
}

TEST(Cli, ShippedConfigIsValid) {
  RunResult r =
      RunWatchd({"-c", SourcePath("conf/watchd.yaml"), "--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok"), std::string::npos) << r.output;
}

TEST(Cli, EveryReadyMadeCheckFileIsValidWhenIncluded) {
  TempDir dir;
  const std::string path = dir.File("main.yaml");
  ASSERT_TRUE(
      WriteFile(path, "include: [\"" + SourcePath("checks") + "/*.yaml\"]\n"));
  RunResult r = RunWatchd({"-c", path, "--check-config"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

TEST(Cli, CheckConfigReportsEveryErrorWithItsPlace) {
  TempDir dir;
  const std::string path = dir.File("bad.yaml");
  ASSERT_TRUE(WriteFile(path,
                        "services:\n"
                        "  web:\n"
                        "    checks:\n"
                        "      health:\n"
                        "        http: {url: http://127.0.0.1:1/}\n"
                        "        intervall: 5s\n"
                        "      port:\n"
                        "        tcp: {host: 127.0.0.1, port: 80}\n"
                        "        timeout: 10\n"));
  RunResult r = RunWatchd({"-c", path, "--check-config"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(path + ":6:9: unknown key 'intervall' (did you "
                                 "mean 'interval'?)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(path + ":9:18:"), std::string::npos) << r.output;
}

TEST(Cli, MissingConfigIsAClearError) {
  RunResult r = RunWatchd({"-c", "/nonexistent/watchd.yaml", "--check-config"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("/nonexistent/watchd.yaml"), std::string::npos)
      << r.output;
}

TEST(Cli, VersionAndUsage) {
  RunResult v = RunWatchd({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("watchd ", 0), 0u) << v.output;
  RunResult bad = RunWatchd({"--no-such-flag"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("usage:"), std::string::npos);
}

TEST(Cli, StopsCleanlyOnSigterm) {
  WatchdProcess watchd(
      "  self:\n    checks:\n      ok:\n        exec: "
      "[/bin/true]\n        interval: 1s\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog("metrics on http://127.0.0.1:", seconds(10)));
  ASSERT_TRUE(watchd.process().Signal(SIGTERM));
  auto st = watchd.process().Wait(seconds(20));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << watchd.Log();
}

// logrotate, an operator's kill or a stray script: none of these may end
// the daemon silently (their default action), and each is logged.
TEST(Cli, SurvivesAndLogsStraySignals) {
  WatchdProcess watchd(
      "  self:\n    checks:\n      ok:\n        exec: "
      "[/bin/true]\n        interval: 200ms\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  for (int sig : {SIGUSR1, SIGUSR2, SIGALRM, SIGHUP}) {
    ASSERT_TRUE(watchd.process().Signal(sig)) << strsignal(sig);
    EXPECT_TRUE(watchd.WaitForLog(strsignal(sig), seconds(10)))
        << strsignal(sig) << "\n"
        << watchd.Log();
  }
  // SIGHUP reloads the (unchanged) file.
  EXPECT_TRUE(
      watchd.WaitForLog("reloaded " + watchd.config_path(), seconds(10)))
      << watchd.Log();
  EXPECT_TRUE(watchd.process().running()) << watchd.Log();
  // Still on schedule: the check keeps running after the signals.
  const auto runs = [&] {
    double n = 0;
    for (const Sample& s : watchd.Scrape()) {
      if (s.name == "watchd_probes_total") n += s.value;
    }
    return n;
  };
  const double before = runs();
  EXPECT_TRUE(WaitFor([&] { return runs() >= before + 3; }, seconds(20)));
  ASSERT_TRUE(watchd.process().Signal(SIGQUIT));
  auto st = watchd.process().Wait(seconds(20));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << watchd.Log();
}

TEST(Cli, MetricsPortInUseIsFatalAndSaysSo) {
  WatchdProcess first(
      "  a:\n    checks:\n      ok:\n        exec: [/bin/true]\n");
  ASSERT_TRUE(first.Start()) << first.Log();
  TempDir dir;
  const std::string path = dir.File("second.yaml");
  ASSERT_TRUE(WriteFile(path, "daemon:\n  metrics_listen: 127.0.0.1:" +
                                  std::to_string(first.metrics_port()) + "\n"));
  RunResult r = RunWatchd({"-c", path});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(std::to_string(first.metrics_port())),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace watchd::testing
