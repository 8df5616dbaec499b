#include "daemon/status_json.h"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdio>
#include <random>

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

// What the C library says, for comparison.
std::string ByLibc(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  int64_t frac = ms % 1000;
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
           utc.tm_min, utc.tm_sec, static_cast<int>(frac));
  return buf;
}

std::string Format(int64_t ms) {
  return FormatRfc3339(system_clock::time_point(milliseconds(ms)));
}

TEST(FormatRfc3339Test, KnownTimes) {
  EXPECT_EQ(Format(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Format(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(Format(951782400123), "2000-02-29T00:00:00.123Z");
  EXPECT_EQ(Format(4107542399999), "2100-02-28T23:59:59.999Z");
  EXPECT_EQ(Format(4107542400000), "2100-03-01T00:00:00.000Z");
  EXPECT_EQ(Format(1796487993120), "2026-12-05T16:26:33.120Z");
}

TEST(FormatRfc3339Test, AgreesWithTheCLibraryOverTheClocksRange) {
  std::mt19937_64 rng(42);
  // 1700 .. 2260 (system_clock counts nanoseconds in 64 bits: 1678-2262),
  // and densely around now.
  std::uniform_int_distribution<int64_t> any(-8520336000000, 9183110399999);
  std::uniform_int_distribution<int64_t> near(1700000000000, 1900000000000);
  for (int i = 0; i < 200000; ++i) {
    const int64_t ms = (i % 2 ? any : near)(rng);
    ASSERT_EQ(Format(ms), ByLibc(ms)) << ms;
  }
}

TEST(FormatRfc3339Test, StatusClockCountsBackFromTheWallClock) {
  const TimePoint mono = TimePoint() + std::chrono::hours(5);
  const system_clock::time_point wall{milliseconds(1796487993120)};
  StatusClock clock(mono, wall);
  EXPECT_EQ(clock.Format(mono - std::chrono::seconds(42)).view(),
            "2026-12-05T16:25:51.120Z");
  EXPECT_DOUBLE_EQ(clock.SecondsSince(mono - milliseconds(1500)), 1.5);
}

}  // namespace
}  // namespace watchd
