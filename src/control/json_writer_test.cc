#include "control/json_writer.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace watchd {
namespace {

TEST(JsonWriter, NestedValuesWithCommas) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.Key("a");
  w.Int(-3);
  w.Key("b");
  w.BeginArray();
  w.Bool(true);
  w.Null();
  w.Double(0.25);
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.EndArray();
  w.Key("c");
  w.String("x");
  w.EndObject();
  EXPECT_EQ(out, R"({"a":-3,"b":[true,null,0.25,{},[]],"c":"x"})");
}

TEST(JsonWriter, StringsAlwaysMakeValidJson) {
  const std::string tricky =
      std::string("q\"b\\n\nt\tc\x01 é ☃ 𝄞 ") + "\xff\xc3(\xed\xa0\x80\xe2\x82";
  std::string out;
  JsonWriter w(&out);
  w.String(tricky);
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j.get<std::string>(),
            "q\"b\\n\nt\tc\x01 é ☃ 𝄞 \xEF\xBF\xBD\xEF\xBF\xBD(\xEF\xBF\xBD"
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonWriter, NumbersRoundTripAndNonFiniteIsNull) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  w.Double(0.1);
  w.Double(1e300);
  w.Double(std::numeric_limits<double>::infinity());
  w.Double(std::nan(""));
  w.Int(std::numeric_limits<int64_t>::min());
  w.EndArray();
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j[0].get<double>(), 0.1);
  EXPECT_EQ(j[1].get<double>(), 1e300);
  EXPECT_TRUE(j[2].is_null());
  EXPECT_TRUE(j[3].is_null());
  EXPECT_EQ(j[4].get<int64_t>(), std::numeric_limits<int64_t>::min());
}

}  // namespace
}  // namespace watchd
