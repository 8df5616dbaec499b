#include "metrics/cells.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace watchd {
namespace {

constexpr double kBounds[] = {0.1, 1, 10};

TEST(HistogramCellTest, BucketsAreUpperInclusiveAndCumulative) {
  HistogramCell<kBounds> h;
  for (double v : {0.05, 0.1, 0.5, 1.0, 10.0, 11.0, 1e9}) h.Observe(v);
  prometheus::ClientMetric::Histogram c = h.Collect();
  ASSERT_EQ(c.bucket.size(), 4u);
  EXPECT_EQ(c.bucket[0].upper_bound, 0.1);
  EXPECT_EQ(c.bucket[0].cumulative_count, 2u);  // 0.05, 0.1
  EXPECT_EQ(c.bucket[1].upper_bound, 1);
  EXPECT_EQ(c.bucket[1].cumulative_count, 4u);
  EXPECT_EQ(c.bucket[2].upper_bound, 10);
  EXPECT_EQ(c.bucket[2].cumulative_count, 5u);
  EXPECT_TRUE(std::isinf(c.bucket[3].upper_bound));
  EXPECT_EQ(c.bucket[3].cumulative_count, 7u);
  EXPECT_EQ(c.sample_count, 7u);
  EXPECT_DOUBLE_EQ(c.sample_sum, 0.05 + 0.1 + 0.5 + 1 + 10 + 11 + 1e9);
}

TEST(HistogramCellTest, NegativeGoesFirstAndNanIsDropped) {
  HistogramCell<kBounds> h;
  h.Observe(-1);
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  prometheus::ClientMetric::Histogram c = h.Collect();
  EXPECT_EQ(c.bucket[0].cumulative_count, 1u);
  EXPECT_EQ(c.sample_count, 1u);
  EXPECT_EQ(c.sample_sum, -1);
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
