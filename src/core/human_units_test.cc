#include "core/human_units.h"

#include <gtest/gtest.h>

#include <cmath>

namespace watchd {
namespace {

TEST(HumanUnitsTest, Durations) {
  EXPECT_EQ(HumanDuration(0), "0.0s");
  EXPECT_EQ(HumanDuration(9.96), "9.9s");
  EXPECT_EQ(HumanDuration(59), "59s");
  EXPECT_EQ(HumanDuration(192), "3m12s");
  EXPECT_EQ(HumanDuration(3600), "1h");
  EXPECT_EQ(HumanDuration(3 * 86400 + 4 * 3600 + 5), "3d4h");
  EXPECT_EQ(HumanDuration(-5), "0.0s");
  EXPECT_EQ(HumanDuration(std::nan("")), "0.0s");
}

TEST(HumanUnitsTest, Bytes) {
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(48.3 * (1 << 20)), "48.3 MiB");
  EXPECT_EQ(HumanBytes(3.0 * (1ull << 30)), "3.0 GiB");
  EXPECT_EQ(HumanBytes(5.0 * (1ull << 50)), "5120.0 TiB");
}

}  // namespace
}  // namespace watchd
