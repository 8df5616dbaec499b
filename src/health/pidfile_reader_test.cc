#include "health/pidfile_reader.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include "os/process_table.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::seconds;

class PidfileReaderTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  const std::string path_ = dir_.File("web.pid");
  const TimePoint t0_{};
};

TEST_F(PidfileReaderTest, SettledFileIsReadOnceWhileUnchanged) {
  ASSERT_TRUE(testing::WriteFile(path_, "4242\n"));
  PidfileReader reader(SystemProcessTable(), Duration::zero());
  for (int i = 0; i < 5; ++i) {
    auto r = reader.Read(path_, t0_ + seconds(i));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->pid, 4242);
  }
  EXPECT_EQ(reader.opens(), 1);
  EXPECT_TRUE(reader.last_cached());
}

TEST_F(PidfileReaderTest, RewriteAndReplacementAreSeen) {
  ASSERT_TRUE(testing::WriteFile(path_, "4242\n"));
  PidfileReader reader(SystemProcessTable(), Duration::zero());
  ASSERT_EQ(reader.Read(path_, t0_)->pid, 4242);
  // Rewritten in place.
  ASSERT_TRUE(testing::WriteFile(path_, "51515\n"));
  auto r = reader.Read(path_, t0_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pid, 51515);
  EXPECT_FALSE(reader.last_cached());
  // Replaced by another file, as daemons write pidfiles atomically.
  const std::string next = dir_.File("web.pid.new");
  ASSERT_TRUE(testing::WriteFile(next, "51516\n"));
  ASSERT_EQ(rename(next.c_str(), path_.c_str()), 0);
  r = reader.Read(path_, t0_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->pid, 51516);
  // Removed.
  ASSERT_EQ(remove(path_.c_str()), 0);
  EXPECT_FALSE(reader.Read(path_, t0_).ok());
  EXPECT_EQ(reader.opens(), 4);
}

TEST_F(PidfileReaderTest, FreshFileIsReadEveryTime) {
  // Written just now: a second rewrite in the same timestamp tick could
  // look the same to stat(), so nothing is cached yet.
  ASSERT_TRUE(testing::WriteFile(path_, "4242\n"));
  PidfileReader reader(SystemProcessTable());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader.Read(path_, t0_).ok());
  EXPECT_EQ(reader.opens(), 3);
  EXPECT_FALSE(reader.last_cached());
}

TEST_F(PidfileReaderTest, ReadAgainAfterMaxAgeOrForget) {
  ASSERT_TRUE(testing::WriteFile(path_, "4242\n"));
  PidfileReader reader(SystemProcessTable(), Duration::zero());
  ASSERT_TRUE(reader.Read(path_, t0_).ok());
  ASSERT_TRUE(reader.Read(path_, t0_ + PidfileReader::kMaxAge / 2).ok());
  EXPECT_EQ(reader.opens(), 1);
  ASSERT_TRUE(reader.Read(path_, t0_ + PidfileReader::kMaxAge).ok());
  EXPECT_EQ(reader.opens(), 2);
  reader.Forget();
  ASSERT_TRUE(reader.Read(path_, t0_ + PidfileReader::kMaxAge).ok());
  EXPECT_EQ(reader.opens(), 3);
}

TEST_F(PidfileReaderTest, InvalidContentIsAnErrorAndNotCached) {
  ASSERT_TRUE(testing::WriteFile(path_, "not a pid\n"));
  PidfileReader reader(SystemProcessTable(), Duration::zero());
  auto r = reader.Read(path_, t0_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("holds no pid"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(reader.Read(path_, t0_).ok());
  EXPECT_EQ(reader.opens(), 2);
}

}  // namespace
}  // namespace watchd
