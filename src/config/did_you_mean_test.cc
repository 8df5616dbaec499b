#include "config/did_you_mean.h"

#include <gtest/gtest.h>

#include <string>

namespace watchd {
namespace {

constexpr std::string_view kKeys[] = {"interval", "timeout",   "jitter",
                                      "failures", "successes", "on_failure"};

TEST(DidYouMeanTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0);
  EXPECT_EQ(EditDistance("abc", ""), 3);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("intervall", "interval"), 1);
  EXPECT_EQ(EditDistance("timeuot", "timeout"), 1);  // a transposition
  EXPECT_EQ(EditDistance("Interval", "interval"), 0);
}

TEST(DidYouMeanTest, SuggestsTypos) {
  EXPECT_EQ(DidYouMean("intervall", kKeys), " (did you mean 'interval'?)");
  EXPECT_EQ(DidYouMean("timout", kKeys), " (did you mean 'timeout'?)");
  EXPECT_EQ(DidYouMean("failure", kKeys), " (did you mean 'failures'?)");
  EXPECT_EQ(DidYouMean("onfailure", kKeys), " (did you mean 'on_failure'?)");
  EXPECT_EQ(DidYouMean("Jitter", kKeys), " (did you mean 'jitter'?)");
}

TEST(DidYouMeanTest, NoSuggestionForUnrelatedWords) {
  EXPECT_EQ(DidYouMean("hostname", kKeys), "");
  EXPECT_EQ(DidYouMean("x", kKeys), "");
  EXPECT_EQ(DidYouMean("", kKeys), "");
  EXPECT_EQ(DidYouMean(std::string(10000, 'a'), kKeys), "");
  EXPECT_EQ(ClosestMatch("interval", {}), std::nullopt);
}

TEST(DidYouMeanTest, ShortWordsAllowOneEdit) {
  constexpr std::string_view kKinds[] = {"http", "tcp", "dns", "exec"};
  EXPECT_EQ(ClosestMatch("tpc", kKinds), "tcp");
  EXPECT_EQ(ClosestMatch("htp", kKinds), "http");
  EXPECT_EQ(ClosestMatch("udp", kKinds), std::nullopt);
}

}  // namespace
}  // namespace watchd
