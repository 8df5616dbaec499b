#include "os/procfs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::seconds;

TEST(ProcfsTest, ParsesCommWithSpacesAndParentheses) {
  std::string text =
      "1234 (web (worker) 1) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 "
      "0 1 0 987654 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
      "17 1 0 0 0 0 0\n";
  auto st = ParseProcStat(text);
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->pid, 1234);
  EXPECT_EQ(st->comm, "web (worker) 1");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->start_time, 987654u);
  EXPECT_EQ(st->rss_bytes, 200u * static_cast<uint64_t>(getpagesize()));
}

TEST(ProcfsTest, RejectsTruncatedStat) {
  EXPECT_FALSE(ParseProcStat("12 (x) S 1 2").ok());
  EXPECT_FALSE(ParseProcStat("garbage").ok());
  // Up to the start time but not the RSS.
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
                             "987654 1000")
                   .ok());
  EXPECT_FALSE(ParseProcStat("x (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
                             "987654 1000 200")
                   .ok());
}

TEST(ProcfsTest, ReadsOwnProcess) {
  auto st = ReadProcStat(getpid());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->pid, getpid());
  EXPECT_EQ(st->ppid, getppid());
  EXPECT_GT(st->start_time, 0u);
  EXPECT_EQ(st->state, 'R');
  auto rss = ReadRssBytes(getpid());
  ASSERT_TRUE(rss.ok());
  EXPECT_GT(*rss, 100u * 1024);
  // The same counter as statm's (give or take pages touched in between).
  EXPECT_GT(st->rss_bytes, *rss / 2);
  EXPECT_LT(st->rss_bytes, *rss * 2);
  const double up = ProcessUptimeSeconds(st->start_time);
  EXPECT_GE(up, 0);
  EXPECT_LT(up, 24 * 3600.0);
}

TEST(ProcfsTest, MissingProcessIsAnError) {
  EXPECT_FALSE(ReadProcStat(0).ok());
  EXPECT_FALSE(ReadProcStat(-5).ok());
  EXPECT_FALSE(ReadProcStat(999999999).ok());
}

TEST(ProcfsTest, SeesStoppedAndZombieStates) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_EQ(kill(child, SIGSTOP), 0);
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        auto st = ReadProcStat(child);
        return st.ok() && st->state == 'T';
      },
      seconds(10)));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  // Not reaped yet: a zombie.
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        auto st = ReadProcStat(child);
        return st.ok() && st->state == 'Z';
      },
      seconds(10)));
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(ReadProcStat(child).ok());
}

TEST(ProcfsTest, FindsGrandchildren) {
  testing::TempDir dir;
  testing::Subprocess tree;
  const std::string pidfile = dir.File("grandchild.pid");
  ASSERT_TRUE(tree.Start(
      {"/bin/sh", "-c", "sleep 1000 & echo $! > " + pidfile + "; wait"}));
  ASSERT_TRUE(
      testing::WaitFor([&] { return ReadPidfile(pidfile).ok(); }, seconds(10)));
  pid_t grandchild = *ReadPidfile(pidfile);
  auto all = ReadDescendants(getpid());
  EXPECT_NE(std::find(all.begin(), all.end(), tree.pid()), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), grandchild), all.end());
  // The walk stops at its bound.
  EXPECT_EQ(ReadDescendants(tree.pid(), 1).size(), 1u);
  EXPECT_EQ(ReadDescendants(getpid(), 1).size(), 1u);
  EXPECT_TRUE(ReadDescendants(tree.pid(), 0).empty());
}

TEST(ProcfsTest, PidfileValidation) {
  testing::TempDir dir;
  const std::string p = dir.File("x.pid");
  EXPECT_FALSE(ReadPidfile(p).ok());
  testing::WriteFile(p, "4242\n");
  ASSERT_TRUE(ReadPidfile(p).ok());
  EXPECT_EQ(*ReadPidfile(p), 4242);
  for (const char* bad : {"", "abc", "-3", "0", "12 34", "99999999999"}) {
    testing::WriteFile(p, bad);
    EXPECT_FALSE(ReadPidfile(p).ok()) << bad;
  }
}

TEST(ProcfsTest, StampedPidfileDescribesTheFileRead) {
  testing::TempDir dir;
  const std::string p = dir.File("x.pid");
  testing::WriteFile(p, "4242\n");
  auto first = ReadStampedPidfile(p, geteuid());
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->pid, 4242);
  EXPECT_EQ(first->stamp.size, 5);
  auto stamp = StampFile(p);
  ASSERT_TRUE(stamp.ok());
  EXPECT_EQ(*stamp, first->stamp);
  // Rewriting changes the stamp (at least its size and ctime here).
  testing::WriteFile(p, "424242\n");
  auto second = ReadStampedPidfile(p, geteuid());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->pid, 424242);
  EXPECT_FALSE(second->stamp == first->stamp);
  EXPECT_FALSE(StampFile(dir.File("missing.pid")).ok());
  // Too big for a pidfile.
  testing::WriteFile(p, std::string(8192, '1'));
  EXPECT_FALSE(ReadStampedPidfile(p, geteuid()).ok());
}

}  // namespace
}  // namespace watchd
