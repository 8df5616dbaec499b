#include "daemon/log_setup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::ReadFile;
using testing::TempDir;

std::string DevIno(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// Points this process's stderr at `path` for the test's lifetime.
class StderrTo {
 public:
  explicit StderrTo(const std::string& path)
      : saved_(dup(STDERR_FILENO)),
        fd_(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)) {
    dup2(fd_, STDERR_FILENO);
  }
  ~StderrTo() {
    spdlog::drop_all();
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    close(fd_);
    unsetenv("JOURNAL_STREAM");
  }

 private:
  int saved_;
  int fd_;
};

TEST(LogSetupTest, JournalStreamMustBeStderrItself) {
  unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(StderrIsJournal());
  setenv("JOURNAL_STREAM", DevIno(STDERR_FILENO).c_str(), 1);
  EXPECT_TRUE(StderrIsJournal());
  // Inherited from a parent whose stderr systemd connected, then
  // redirected: not ours.
  TempDir dir;
  int other = open(dir.File("other").c_str(), O_WRONLY | O_CREAT, 0600);
  setenv("JOURNAL_STREAM", DevIno(other).c_str(), 1);
  EXPECT_FALSE(StderrIsJournal());
  close(other);
  for (const char* bad : {"", "12", "1:2:3", "a:b", "1:2x"}) {
    setenv("JOURNAL_STREAM", bad, 1);
    EXPECT_FALSE(StderrIsJournal()) << bad;
  }
  unsetenv("JOURNAL_STREAM");
}

TEST(LogSetupTest, JournalLinesCarryThePriorityAndNoTimestamp) {
  TempDir dir;
  const std::string out = dir.File("stderr");
  {
    StderrTo redirect(out);
    setenv("JOURNAL_STREAM", DevIno(STDERR_FILENO).c_str(), 1);
    DaemonConfig config;
    config.log_level = LogLevel::kDebug;
    ASSERT_TRUE(SetUpLogging(config).ok());
    spdlog::debug("probe details");
    spdlog::info("watchd started");
    spdlog::warn("check web/health: passing -> failing");
    spdlog::error("restart failed:\nexit 1");
  }
  EXPECT_EQ(ReadFile(out),
            "<7>probe details\n"
            "<6>watchd started\n"
            "<4>check web/health: passing -> failing\n"
            "<3>restart failed:\n"
            "<3>exit 1\n");
}

TEST(LogSetupTest, StderrWithoutJournalHasTimestampsAndLevels) {
  TempDir dir;
  const std::string out = dir.File("stderr");
  {
    StderrTo redirect(out);
    ASSERT_TRUE(SetUpLogging(DaemonConfig()).ok());
    spdlog::info("hello");
    spdlog::debug("not at info");
  }
  const std::string text = ReadFile(out);
  // 2024-05-01T12:00:00.000 info hello
  ASSERT_EQ(text.size(), 35u) << text;
  EXPECT_EQ(text[4], '-');
  EXPECT_EQ(text[10], 'T');
  EXPECT_EQ(text.substr(23), " info hello\n");
}

TEST(LogSetupTest, FileIsAppendedCreated0640AndReopened) {
  TempDir dir;
  const std::string path = dir.File("watchd.log");
  const mode_t old_umask = umask(022);
  DaemonConfig config;
  config.log_file = path;
  ASSERT_TRUE(SetUpLogging(config).ok());
  umask(old_umask);
  spdlog::info("first");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  // logrotate's rename: lines follow the open file until the reopen.
  ASSERT_EQ(rename(path.c_str(), (path + ".1").c_str()), 0);
  spdlog::info("second");
  ASSERT_TRUE(ReopenLogFile().ok());
  spdlog::info("third");
  spdlog::drop_all();

  const std::string rotated = ReadFile(path + ".1");
  EXPECT_NE(rotated.find(" info first\n"), std::string::npos) << rotated;
  EXPECT_NE(rotated.find(" info second\n"), std::string::npos) << rotated;
  EXPECT_EQ(rotated.find("third"), std::string::npos) << rotated;
  const std::string fresh = ReadFile(path);
  EXPECT_NE(fresh.find(" info third\n"), std::string::npos) << fresh;
  EXPECT_EQ(fresh.find("second"), std::string::npos) << fresh;
}

TEST(LogSetupTest, FileIsAppendedToNotTruncated) {
  TempDir dir;
  const std::string path = dir.File("watchd.log");
  ASSERT_TRUE(testing::WriteFile(path, "earlier run\n"));
  DaemonConfig config;
  config.log_file = path;
  ASSERT_TRUE(SetUpLogging(config).ok());
  spdlog::info("this run");
  spdlog::drop_all();
  const std::string text = ReadFile(path);
  EXPECT_EQ(text.rfind("earlier run\n", 0), 0u) << text;
  EXPECT_NE(text.find(" info this run\n"), std::string::npos) << text;
}

TEST(LogSetupTest, AFileThatCannotBeOpenedIsAnErrorNamingIt) {
  TempDir dir;
  DaemonConfig config;
  config.log_file = dir.File("missing/watchd.log");
  Status s = SetUpLogging(config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "cannot open log file " + config.log_file +
                             ": No such file or directory");
}

TEST(LogSetupTest, ReopenWithoutALogFileDoesNothing) {
  TempDir dir;
  {
    StderrTo redirect(dir.File("stderr"));
    ASSERT_TRUE(SetUpLogging(DaemonConfig()).ok());
    EXPECT_TRUE(ReopenLogFile().ok());
  }
}

TEST(LogSetupTest, AFailedReopenKeepsTheOldFile) {
  TempDir dir;
  ASSERT_EQ(mkdir(dir.File("logs").c_str(), 0700), 0);
  const std::string path = dir.File("logs/watchd.log");
  DaemonConfig config;
  config.log_file = path;
  ASSERT_TRUE(SetUpLogging(config).ok());
  ASSERT_EQ(rename(dir.File("logs").c_str(), dir.File("moved").c_str()), 0);
  Status s = ReopenLogFile();
  EXPECT_FALSE(s.ok());
  spdlog::info("still logged");
  spdlog::drop_all();
  EXPECT_NE(ReadFile(dir.File("moved/watchd.log")).find("still logged"),
            std::string::npos);
}

}  // namespace
}  // namespace watchd
