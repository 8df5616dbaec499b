#include "metrics/series_collector.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace watchd {
namespace {

std::string Name(int i) {
  char name[16];
  snprintf(name, sizeof(name), "s%05d", i);
  return name;
}

TEST(SeriesCollectorTest, VisitsEveryCheckOnceInOrderAcrossChunks) {
  SeriesCollector collector;
  const int kCount = 3 * SeriesCollector::kChunk + 7;
  for (int i = 0; i < kCount; ++i) collector.AddCheck(Name(i), "c", "tcp");
  std::vector<std::string> seen;
  collector.ForEachCheck([&](const CheckSeries& c) {
    seen.push_back(c.service);
    return true;
  });
  ASSERT_EQ(seen.size(), static_cast<size_t>(kCount));
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(seen[i], Name(i));
}

TEST(SeriesCollectorTest, StopsWhenAsked) {
  SeriesCollector collector;
  for (int i = 0; i < 10; ++i) collector.AddService(Name(i));
  int visits = 0;
  collector.ForEachService([&](const ServiceSeries&) { return ++visits < 3; });
  EXPECT_EQ(visits, 3);
}

// Removing the series a chunk ended on (the cursor) and the next ones, and
// adding one behind the cursor, while visiting: every series present
// throughout is still visited exactly once, and the removed cursor, copied
// already, is still readable.
TEST(SeriesCollectorTest, ChangesDuringAVisitAreSafe) {
  SeriesCollector collector;
  const int kCount = 4 * SeriesCollector::kChunk;
  std::vector<CheckSeries*> checks;
  std::set<int> present;
  for (int i = 0; i < kCount; ++i) {
    checks.push_back(collector.AddCheck(Name(i), "c", "tcp"));
    present.insert(i);
  }
  std::set<int> unvisited;
  std::vector<int> seen;
  size_t visits = 0;
  collector.ForEachCheck([&](const CheckSeries& c) {
    int n = std::stoi(c.service.substr(1));
    seen.push_back(n);
    if (visits++ % SeriesCollector::kChunk != 0) return true;
    // The first of a chunk: find the last one, copied with it.
    auto it = present.find(n);
    for (size_t k = 1; k < SeriesCollector::kChunk && it != present.end();
         ++k) {
      ++it;
    }
    std::vector<int> victims;
    for (int k = 0; k < 3 && it != present.end(); ++k, ++it) {
      victims.push_back(*it);
    }
    for (size_t k = 0; k < victims.size(); ++k) {
      collector.RemoveCheck(checks[victims[k]]);
      present.erase(victims[k]);
      if (k > 0) unvisited.insert(victims[k]);
    }
    collector.AddCheck(Name(n) + "x", "c", "tcp");
    return true;
  });
  std::vector<int> want;
  for (int i = 0; i < kCount; ++i) {
    if (!unvisited.count(i)) want.push_back(i);
  }
  EXPECT_EQ(unvisited.size(), 6u);
  EXPECT_EQ(seen, want);
}

TEST(SeriesCollectorTest, ReferencesKeepSeries) {
  SeriesCollector collector;
  CheckSeries* a = collector.AddCheck("web", "c", "tcp");
  EXPECT_EQ(collector.AddCheck("web", "c", "http"), a);
  EXPECT_EQ(*a->kind.load(), "http");
  collector.RemoveCheck(a);
  int visits = 0;
  collector.ForEachCheck([&](const CheckSeries&) { return ++visits; });
  EXPECT_EQ(visits, 1);
  collector.RemoveCheck(a);
  visits = 0;
  collector.ForEachCheck([&](const CheckSeries&) { return ++visits; });
  EXPECT_EQ(visits, 0);
}

}  // namespace
}  // namespace watchd
