// `watchd --check-config` as an operator runs it: every error of the file,
// including commands this machine cannot run, in one run at its value.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/support/subprocess.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

struct RunResult {
  int exit_code = -1;
  std::string output;
};

RunResult CheckConfig(const std::string& path) {
  TempDir dir;
  Subprocess p;
  RunResult run;
  if (!p.Start({WatchdBinary(), "-c", path, "--check-config"},
               dir.File("out"))) {
    return run;
  }
  auto st = p.Wait(std::chrono::seconds(60));
  if (st && WIFEXITED(*st)) run.exit_code = WEXITSTATUS(*st);
  run.output = ReadFile(dir.File("out"));
  return run;
}

TEST(CheckConfig, TypedErrorsAndMissingCommandsInOneRunAtTheirValues) {
  TempDir dir;
  const std::string path = dir.File("bad.yaml");
  ASSERT_TRUE(WriteFile(path,
                        "supervisors:\n"
                        "  custom:\n"
                        "    type: command\n"
                        "    restart: [/no/such/bounce, \"{program}\"]\n"
                        "services:\n"
                        "  web:\n"
                        "    supervisor: custom\n"
                        "    checks:\n"
                        "      script:\n"
                        "        exec: [/no/such/healthcheck, --quick]\n"
                        "        interval: 10\n"));
  RunResult r = CheckConfig(path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(
      r.output.find(path + ":4:15: cannot run /no/such/bounce: No such file "
                           "or directory\n"),
      std::string::npos)
      << r.output;
  EXPECT_NE(
      r.output.find(path + ":10:16: cannot run /no/such/healthcheck: No such "
                           "file or directory\n"),
      std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(path + ":11:19: duration needs a unit, e.g. 10s (got "
                                 "'10')\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("watchd: 3 errors in configuration"),
            std::string::npos)
      << r.output;
}

TEST(CheckConfig, RunnableCommandsPass) {
  TempDir dir;
  const std::string path = dir.File("good.yaml");
  ASSERT_TRUE(WriteFile(path,
                        "services:\n"
                        "  web:\n"
                        "    checks:\n"
                        "      script: {exec: [true]}\n"));
  RunResult r = CheckConfig(path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

// A file someone else could change is refused by --check-config and by
// the daemon alike, with what to do about it; chmod go-w makes it fine.
TEST(CheckConfig, AGroupWritableFileIsRefusedWithTheFix) {
  TempDir dir;
  const std::string path = dir.File("watchd.yaml");
  ASSERT_TRUE(WriteFile(path,
                        "services:\n  web:\n    checks:\n      port:\n"
                        "        tcp: {host: 127.0.0.1, port: 1}\n"));
  ASSERT_EQ(chmod(path.c_str(), 0664), 0);
  const std::string refusal =
      "refusing " + path + ": it is writable by group or others; ";
  RunResult r = CheckConfig(path);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find(refusal), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("chown root and chmod go-w"), std::string::npos)
      << r.output;

  Subprocess daemon;
  ASSERT_TRUE(daemon.Start({WatchdBinary(), "-c", path}, dir.File("log")));
  auto st = daemon.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(st && WIFEXITED(*st));
  EXPECT_NE(WEXITSTATUS(*st), 0);
  EXPECT_NE(ReadFile(dir.File("log")).find(refusal), std::string::npos)
      << ReadFile(dir.File("log"));

  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  r = CheckConfig(path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace watchd::testing
