#include "metrics/cells.h"

#include <limits>

#include "gtest/gtest.h"

namespace watchd {
namespace {

constexpr double kBounds[] = {0.1, 1, 10};

TEST(HistogramCellTest, BucketsAreUpperInclusiveAndCumulative) {
  HistogramCell<kBounds> h;
  for (double v : {0.05, 0.1, 0.5, 1.0, 10.0, 11.0, 1e9}) h.Observe(v);
  HistogramCell<kBounds>::Snapshot c = h.Read();
  ASSERT_EQ(c.cumulative.size(), 4u);
  ASSERT_EQ(h.bounds().size(), 3u);
  EXPECT_EQ(h.bounds()[0], 0.1);
  EXPECT_EQ(c.cumulative[0], 2u);  // 0.05, 0.1
  EXPECT_EQ(c.cumulative[1], 4u);  // and 0.5, 1
  EXPECT_EQ(c.cumulative[2], 5u);  // and 10
  EXPECT_EQ(c.cumulative[3], 7u);  // every one
  EXPECT_DOUBLE_EQ(c.sum, 0.05 + 0.1 + 0.5 + 1 + 10 + 11 + 1e9);
}

TEST(HistogramCellTest, NegativeGoesFirstAndNanIsDropped) {
  HistogramCell<kBounds> h;
  h.Observe(-1);
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  HistogramCell<kBounds>::Snapshot c = h.Read();
  EXPECT_EQ(c.cumulative[0], 1u);
  EXPECT_EQ(c.cumulative[3], 1u);
  EXPECT_EQ(c.sum, -1);
}

TEST(OptionalGaugeCellTest, AbsentUntilSet) {
  OptionalGaugeCell g;
  EXPECT_FALSE(g.value().has_value());
  g.Set(0);
  ASSERT_TRUE(g.value().has_value());
  EXPECT_EQ(*g.value(), 0);
}

TEST(CounterCellTest, Counts) {
  CounterCell c;
  EXPECT_EQ(c.value(), 0u);
  c.Increment();
  c.Increment();
  EXPECT_EQ(c.value(), 2u);
}

}  // namespace
}  // namespace watchd
