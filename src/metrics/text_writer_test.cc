#include "metrics/text_writer.h"

#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace watchd {
namespace {

// Everything `write` writes, through a buffer of `buffer_size`.
template <typename Fn>
std::string Written(Fn write, size_t buffer_size = 64 * 1024) {
  std::string text;
  TextWriter writer(
      [&](std::string_view piece) {
        EXPECT_LE(piece.size(), buffer_size);
        text.append(piece);
        return true;
      },
      buffer_size);
  write(writer);
  EXPECT_TRUE(writer.Flush());
  return text;
}

std::string Value(double value) {
  std::string line = Written([&](TextWriter& w) {
    w.Family("m", "h", MetricType::kGauge);
    w.Sample({}, value);
  });
  std::string last = line.substr(line.rfind("\nm ") + 3);
  return last.substr(0, last.size() - 1);
}

TEST(TextWriterTest, FormatsValuesAsPrometheusReadsThem) {
  EXPECT_EQ(Value(0), "0");
  EXPECT_EQ(Value(-0.0), "0");
  EXPECT_EQ(Value(1), "1");
  EXPECT_EQ(Value(-42), "-42");
  EXPECT_EQ(Value(503), "503");
  EXPECT_EQ(Value(1900000000), "1900000000");
  EXPECT_EQ(Value(9007199254740991.0), "9007199254740991");  // 2^53 - 1
  EXPECT_EQ(Value(0.1), "0.1");
  EXPECT_EQ(Value(0.0125), "0.0125");
  EXPECT_EQ(Value(2.203), "2.203");
  EXPECT_EQ(Value(0.0001), "0.0001");
  EXPECT_EQ(Value(-0.00025), "-0.00025");
  EXPECT_EQ(Value(1e-05), "1e-05");
  EXPECT_EQ(Value(1900000000.5), "1900000000.5");
  EXPECT_EQ(Value(123456.789), "123456.789");
  EXPECT_EQ(Value(1e15 + 0.5), "1.0000000000000005e+15");
  EXPECT_EQ(Value(1e300), "1e+300");
  EXPECT_EQ(Value(1.5e20), "1.5e+20");
  EXPECT_EQ(Value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  // Every finite double reads back exactly.
  for (double v : {0.1 + 0.2, 1.0 / 3, -2.2250738585072014e-308, 5e-324,
                   1.7976931348623157e308, 123456.789e-3, 0.1 * 3e-4,
                   99999999999999.99, 1e15 - 0.125}) {
    EXPECT_EQ(std::strtod(Value(v).c_str(), nullptr), v) << Value(v);
  }
}

TEST(TextWriterTest, CountsAreExact) {
  std::string text = Written([](TextWriter& w) {
    w.Family("c_total", "h", MetricType::kCounter);
    w.Sample({}, uint64_t{18446744073709551615u});
  });
  EXPECT_EQ(text,
            "# HELP c_total h\n# TYPE c_total counter\n"
            "c_total 18446744073709551615\n");
}

TEST(TextWriterTest, EscapesLabelValuesAndHelp) {
  std::string text = Written([](TextWriter& w) {
    w.Family("m", "a \\ back\nslash \"quoted\"", MetricType::kGauge);
    w.Sample({{"a", "say \"hi\""}, {"b", "c:\\dir\\"}, {"c", "two\nlines"}},
             1.0);
  });
  EXPECT_EQ(
      text,
      "# HELP m a \\\\ back\\nslash \"quoted\"\n"
      "# TYPE m gauge\n"
      "m{a=\"say \\\"hi\\\"\",b=\"c:\\\\dir\\\\\",c=\"two\\nlines\"} 1\n");
}

TEST(TextWriterTest, FamiliesWithoutSamplesWriteNothing) {
  std::string text = Written([](TextWriter& w) {
    w.Family("empty", "h", MetricType::kGauge);
    w.Family("full", "h", MetricType::kGauge);
    w.Sample({{"x", "1"}}, 1.0);
    w.Sample({{"x", "2"}}, 2.0);
    w.Family("empty_too", "h", MetricType::kCounter);
  });
  EXPECT_EQ(text,
            "# HELP full h\n# TYPE full gauge\n"
            "full{x=\"1\"} 1\nfull{x=\"2\"} 2\n");
}

TEST(TextWriterTest, WritesHistograms) {
  constexpr double kBounds[] = {0.001, 0.25, 1};
  const uint64_t cumulative[] = {1, 3, 3, 5};
  std::string text = Written([&](TextWriter& w) {
    w.Family("d_seconds", "h", MetricType::kHistogram);
    const MetricLabel labels[] = {{"s", "web"}};
    w.Histogram(labels, kBounds, cumulative, 12.5);
    w.Histogram({}, kBounds, cumulative, 0.5);
  });
  EXPECT_EQ(text,
            "# HELP d_seconds h\n# TYPE d_seconds histogram\n"
            "d_seconds_bucket{s=\"web\",le=\"0.001\"} 1\n"
            "d_seconds_bucket{s=\"web\",le=\"0.25\"} 3\n"
            "d_seconds_bucket{s=\"web\",le=\"1\"} 3\n"
            "d_seconds_bucket{s=\"web\",le=\"+Inf\"} 5\n"
            "d_seconds_sum{s=\"web\"} 12.5\n"
            "d_seconds_count{s=\"web\"} 5\n"
            "d_seconds_bucket{le=\"0.001\"} 1\n"
            "d_seconds_bucket{le=\"0.25\"} 3\n"
            "d_seconds_bucket{le=\"1\"} 3\n"
            "d_seconds_bucket{le=\"+Inf\"} 5\n"
            "d_seconds_sum 0.5\n"
            "d_seconds_count 5\n");
}

TEST(TextWriterTest, SmallBuffersWriteTheSameText) {
  std::string long_value(1000, 'v');
  long_value[500] = '"';
  auto write = [&](TextWriter& w) {
    w.Family("m", "help", MetricType::kGauge);
    for (int i = 0; i < 100; ++i) {
      w.Sample({{"i", std::to_string(i)}, {"v", long_value}}, i * 0.5);
    }
  };
  std::string big = Written(write);
  EXPECT_GT(big.size(), 100u * 1000);
  for (size_t size : {1, 7, 64, 1000, 4096}) {
    EXPECT_EQ(Written(write, size), big) << size;
  }
}

TEST(TextWriterTest, StopsAtTheFirstRefusal) {
  int calls = 0;
  TextWriter writer(
      [&](std::string_view) {
        ++calls;
        return false;
      },
      16);
  writer.Family("m", "help", MetricType::kGauge);
  EXPECT_TRUE(writer.ok());
  for (int i = 0; i < 100; ++i) writer.Sample({}, 1.0);
  EXPECT_FALSE(writer.ok());
  EXPECT_FALSE(writer.Flush());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace watchd
