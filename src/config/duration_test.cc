#include "config/duration.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Duration Parse(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().message();
  return d.ok() ? *d : Duration(-1);
}

std::string ErrorOf(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  EXPECT_FALSE(d.ok()) << text;
  return d.ok() ? "" : d.status().message();
}

TEST(DurationTest, SingleUnits) {
  EXPECT_EQ(Parse("250ms"), milliseconds(250));
  EXPECT_EQ(Parse("10s"), seconds(10));
  EXPECT_EQ(Parse("5m"), minutes(5));
  EXPECT_EQ(Parse("1h"), hours(1));
  EXPECT_EQ(Parse("7us"), std::chrono::microseconds(7));
  EXPECT_EQ(Parse("3ns"), Duration(3));
  EXPECT_EQ(Parse("0s"), Duration::zero());
}

TEST(DurationTest, CompoundAndFractions) {
  EXPECT_EQ(Parse("1m30s"), seconds(90));
  EXPECT_EQ(Parse("1h2m3s4ms"),
            hours(1) + minutes(2) + seconds(3) + milliseconds(4));
  EXPECT_EQ(Parse("1.5s"), milliseconds(1500));
  EXPECT_EQ(Parse("0.25h"), minutes(15));
  EXPECT_EQ(Parse(".5s"), milliseconds(500));
  EXPECT_EQ(Parse("2.s"), seconds(2));
}

TEST(DurationTest, BareNumbersNeedAUnit) {
  EXPECT_NE(ErrorOf("10").find("duration needs a unit, e.g. 10s"),
            std::string::npos);
  EXPECT_NE(ErrorOf("0").find("needs a unit"), std::string::npos);
  EXPECT_NE(ErrorOf("1.5").find("needs a unit"), std::string::npos);
  EXPECT_NE(ErrorOf("1m30").find("every number needs a unit"),
            std::string::npos);
}

TEST(DurationTest, Errors) {
  EXPECT_NE(ErrorOf("").find("empty duration"), std::string::npos);
  EXPECT_NE(ErrorOf("-5s").find("must not be negative"), std::string::npos);
  EXPECT_NE(ErrorOf("10x").find("unknown unit 'x'"), std::string::npos);
  EXPECT_NE(ErrorOf("10 s").find("unexpected ' '"), std::string::npos);
  EXPECT_NE(ErrorOf("10S").find("unknown unit 'S'"), std::string::npos);
  EXPECT_NE(ErrorOf("10sec").find("unknown unit 'sec'"), std::string::npos);
  EXPECT_NE(ErrorOf("s").find("expected a number"), std::string::npos);
  EXPECT_NE(ErrorOf("1s ").find("invalid duration"), std::string::npos);
}

TEST(DurationTest, TooLong) {
  EXPECT_EQ(Parse("8760h"), kMaxConfigDuration);
  EXPECT_NE(ErrorOf("8761h").find("too long"), std::string::npos);
  EXPECT_NE(ErrorOf("99999999999999999999999h").find("too long"),
            std::string::npos);
  EXPECT_NE(ErrorOf("8000h8000h").find("too long"), std::string::npos);
}

TEST(DurationTest, FormatRoundTrips) {
  EXPECT_EQ(FormatDuration(Duration::zero()), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(seconds(90)), "1m30s");
  EXPECT_EQ(FormatDuration(hours(2)), "2h");
  for (Duration d : {Duration(1), Duration(milliseconds(1500)),
                     Duration(hours(25) + Duration(7)), kMaxConfigDuration}) {
    EXPECT_EQ(Parse(FormatDuration(d)), d) << FormatDuration(d);
  }
}

}  // namespace
}  // namespace watchd
