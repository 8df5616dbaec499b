#include "core/state_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace watchd {
namespace {

TEST(StateOrderTest, WorstFirstThenByName) {
  struct S {
    std::string name, state;
  };
  std::vector<S> s = {{"b", "ok"},   {"a", "ok"},          {"z", "failing"},
                      {"y", "hung"}, {"m", "unmonitored"}, {"d", "dead"},
                      {"q", "what"}, {"c", "unknown"}};
  std::sort(s.begin(), s.end(), [](const S& x, const S& y) {
    return ShownBefore(StateSeverity(x.state), x.name, StateSeverity(y.state),
                       y.name);
  });
  std::string order;
  for (const S& x : s) order += x.name;
  EXPECT_EQ(order, "ydzcqmab");
}

}  // namespace
}  // namespace watchd
