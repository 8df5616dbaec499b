// Where the real watchd logs: journald's stream format when stderr is
// JOURNAL_STREAM, timestamps otherwise, and daemon.log_file reopened on
// SIGUSR1 for logrotate.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <sstream>

#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::seconds;

constexpr char kService[] =
    "  self:\n    checks:\n      ok:\n        exec: [/bin/true]\n"
    "        interval: 200ms\n";

std::string DevIno(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool WaitForText(const std::string& path, const std::string& text) {
  return WaitFor([&] { return ReadFile(path).find(text) != std::string::npos; },
                 seconds(20), std::chrono::milliseconds(50));
}

TEST(Logging, JournalStreamGetsPrioritiesAndNoTimestamps) {
  WatchdProcess watchd(kService);
  ASSERT_TRUE(WriteFile(watchd.log_path(), ""));
  watchd.SetEnv({"JOURNAL_STREAM=" + DevIno(watchd.log_path())});
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.process().Signal(SIGUSR2));
  ASSERT_TRUE(watchd.WaitForLog("User defined signal 2", seconds(20)));
  const std::vector<std::string> lines = Lines(watchd.Log());
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    ASSERT_GE(line.size(), 3u) << line;
    EXPECT_TRUE(line[0] == '<' && line[1] >= '0' && line[1] <= '7' &&
                line[2] == '>')
        << line;
  }
  const std::string log = watchd.Log();
  EXPECT_NE(log.find("\n<6>watchd "), std::string::npos) << log;
  EXPECT_NE(log.find("\n<4>received User defined signal 2: ignored"),
            std::string::npos)
      << log;
}

TEST(Logging, AJournalStreamThatIsNotStderrKeepsTimestamps) {
  WatchdProcess watchd(kService);
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.File("elsewhere"), ""));
  // Inherited from a parent whose own stderr journald reads.
  watchd.SetEnv({"JOURNAL_STREAM=" + DevIno(dir.File("elsewhere"))});
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.WaitForLog(" info watchd ", seconds(20))) << watchd.Log();
  const std::string first = Lines(watchd.Log()).front();
  // 2024-05-01T12:00:00.000 info ...
  ASSERT_GT(first.size(), 24u) << first;
  EXPECT_EQ(first[10], 'T') << first;
  EXPECT_EQ(first[0], '2') << first;
}

TEST(Logging, LogFileIsReopenedOnSigusr1) {
  TempDir dir;
  const std::string path = dir.File("watchd.log");
  WatchdProcess watchd(kService, "  log_file: " + path + "\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(WaitForText(path, " info watchd ")) << ReadFile(path);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0040u);  // 0640 under any usual umask

  // What logrotate does: move the file away, then signal.
  const std::string rotated = path + ".1";
  ASSERT_EQ(rename(path.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE(watchd.process().Signal(SIGUSR1));
  ASSERT_TRUE(WaitForText(path, "reopened " + path)) << ReadFile(path);

  // New lines go to the new file only.
  const std::string old_text = ReadFile(rotated);
  ASSERT_TRUE(watchd.process().Signal(SIGUSR2));
  ASSERT_TRUE(WaitForText(path, "User defined signal 2")) << ReadFile(path);
  EXPECT_EQ(ReadFile(rotated), old_text);
  EXPECT_EQ(old_text.find("reopened"), std::string::npos) << old_text;
  // Nothing on stderr once the file is open.
  EXPECT_EQ(watchd.Log(), "");

  ASSERT_TRUE(watchd.process().Signal(SIGTERM));
  auto status = watchd.process().Wait(seconds(20));
  ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_NE(ReadFile(path).find("stopping"), std::string::npos);
}

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
  auto st = p.Wait(seconds(60));
  if (st && WIFEXITED(*st)) run.exit_code = WEXITSTATUS(*st);
  run.output = ReadFile(dir.File("out"));
  return run;
}

TEST(Logging, ALogFileInAMissingDirectoryIsAConfigError) {
  TempDir dir;
  const std::string config = dir.File("watchd.yaml");
  const std::string log = dir.File("missing/watchd.log");
  ASSERT_TRUE(WriteFile(config,
                        "daemon:\n  metrics_listen: \"\"\n"
                        "  log_file: " +
                            log + "\n"));
  const std::string error = config + ":3:13: cannot log to " + log +
                            ": directory " + dir.File("missing") +
                            ": No such file or directory";
  for (bool check_only : {true, false}) {
    RunResult r = check_only ? RunWatchd({"-c", config, "--check-config"})
                             : RunWatchd({"-c", config});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(error), std::string::npos) << r.output;
  }
}

TEST(Logging, ALogFileThatCannotBeOpenedStopsTheStart) {
  TempDir dir;
  const std::string config = dir.File("watchd.yaml");
  // A directory where the file should be: valid to the parser, not to open.
  const std::string log = dir.path();
  ASSERT_TRUE(WriteFile(config,
                        "daemon:\n  metrics_listen: \"\"\n"
                        "  log_file: " +
                            log + "\n"));
  RunResult r = RunWatchd({"-c", config});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(
      r.output.find("watchd: cannot open log file " + log + ": Is a directory"),
      std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace watchd::testing
