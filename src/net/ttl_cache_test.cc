#include "net/ttl_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace watchd {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint kStart{hours(1)};

TEST(TtlCacheTest, FindsLiveEntriesAndDropsExpiredOnes) {
  TtlCache<int> cache(/*max_entries=*/4096);
  cache.Store("a", 1, kStart + seconds(10), kStart);
  cache.Store("b", 2, kStart + seconds(20), kStart);
  ASSERT_NE(cache.Find("a", kStart), nullptr);
  EXPECT_EQ(*cache.Find("a", kStart), 1);
  EXPECT_EQ(cache.Find("missing", kStart), nullptr);
  // Expired at its time exactly.
  EXPECT_EQ(cache.Find("a", kStart + seconds(10)), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  // Storing again replaces the value and its expiry.
  cache.Store("b", 3, kStart + seconds(40), kStart + seconds(15));
  EXPECT_EQ(*cache.Find("b", kStart + seconds(30)), 3);
}

// A sweep on every store once the map held a fixed number of entries cost
// O(n) per store: 20,000 names took 2 * 10^8 visits.
TEST(TtlCacheTest, UpkeepIsAmortisedConstantPerStore) {
  constexpr size_t kMax = 32768;
  TtlCache<int> cache(kMax);
  constexpr int kStores = 100000;
  for (int i = 0; i < kStores; ++i) {
    cache.Store("name" + std::to_string(i), i, kStart + hours(1), kStart);
    ASSERT_LE(cache.size(), kMax);
  }
  EXPECT_LE(cache.swept(), 4u * kStores);
  // Past the bound, the entries that expire soonest made room.
  EXPECT_GT(cache.size(), kMax / 4);
}

TEST(TtlCacheTest, SweepsDropExpiredEntries) {
  TtlCache<int> cache(/*max_entries=*/4096, /*min_sweep=*/100);
  for (int i = 0; i < 100; ++i) {
    cache.Store("old" + std::to_string(i), i, kStart + seconds(5), kStart);
  }
  EXPECT_EQ(cache.swept(), 0u);
  // The next new name sweeps: every old entry has expired by then.
  const TimePoint later = kStart + seconds(10);
  cache.Store("new", 0, later + seconds(5), later);
  EXPECT_EQ(cache.swept(), 100u);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TtlCacheTest, EvictsTheSoonestToExpireWhenFullOfLiveEntries) {
  constexpr size_t kMax = 256;
  TtlCache<int> cache(kMax, /*min_sweep=*/64);
  // Later names live longer, so the first ones are the ones to go.
  for (int i = 0; i < 1000; ++i) {
    cache.Store("n" + std::to_string(i), i, kStart + seconds(100 + i), kStart);
    ASSERT_LE(cache.size(), kMax);
  }
  EXPECT_EQ(cache.Find("n0", kStart), nullptr);
  ASSERT_NE(cache.Find("n999", kStart), nullptr);
  EXPECT_EQ(*cache.Find("n999", kStart), 999);
}

}  // namespace
}  // namespace watchd
