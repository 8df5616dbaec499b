#include "config/size.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

uint64_t Parse(std::string_view text) {
  Result<uint64_t> s = ParseSize(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().message();
  return s.ok() ? *s : 0;
}

std::string ErrorOf(std::string_view text) {
  Result<uint64_t> s = ParseSize(text);
  EXPECT_FALSE(s.ok()) << text;
  return s.ok() ? "" : s.status().message();
}

TEST(SizeTest, BinaryUnits) {
  EXPECT_EQ(Parse("512KiB"), 512u * 1024);
  EXPECT_EQ(Parse("64MiB"), 64u << 20);
  EXPECT_EQ(Parse("2GiB"), uint64_t{2} << 30);
  EXPECT_EQ(Parse("1TiB"), uint64_t{1} << 40);
}

TEST(SizeTest, DecimalUnitsAndBytes) {
  EXPECT_EQ(Parse("500MB"), 500'000'000u);
  EXPECT_EQ(Parse("1kB"), 1000u);
  EXPECT_EQ(Parse("1KB"), 1000u);
  EXPECT_EQ(Parse("3GB"), 3'000'000'000u);
  EXPECT_EQ(Parse("2TB"), 2'000'000'000'000u);
  EXPECT_EQ(Parse("17B"), 17u);
  EXPECT_EQ(Parse("4096"), 4096u);
  EXPECT_EQ(Parse("0"), 0u);
}

TEST(SizeTest, Errors) {
  EXPECT_NE(ErrorOf("").find("expected an integer with a unit"),
            std::string::npos);
  EXPECT_NE(ErrorOf("MiB").find("expected an integer"), std::string::npos);
  EXPECT_NE(ErrorOf("-5MiB").find("expected an integer"), std::string::npos);
  EXPECT_NE(ErrorOf("5XB").find("unknown unit 'XB'"), std::string::npos);
  EXPECT_NE(ErrorOf("5mib").find("unknown unit 'mib'"), std::string::npos);
  EXPECT_NE(ErrorOf("1.5GiB").find("unknown unit '.5GiB'"), std::string::npos);
  EXPECT_NE(ErrorOf("5 MiB").find("unknown unit"), std::string::npos);
}

TEST(SizeTest, Overflow) {
  EXPECT_EQ(Parse("18446744073709551615"), UINT64_MAX);
  EXPECT_NE(ErrorOf("18446744073709551616").find("too large"),
            std::string::npos);
  EXPECT_NE(ErrorOf("16777216TiB").find("too large"), std::string::npos);
  EXPECT_EQ(Parse("16777215TiB"), uint64_t{16777215} << 40);
}

}  // namespace
}  // namespace watchd
