#include "config/text_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace watchd {
namespace {

constexpr int kDepth = 64;

TEST(TextGuardTest, AcceptsUtf8Text) {
  EXPECT_EQ(FindEncodingError(""), std::nullopt);
  EXPECT_EQ(FindEncodingError("a: b\r\n\tc: 'é ü 日本 🙂'\n"),
            std::nullopt);
  EXPECT_EQ(FindEncodingError("\xef\xbb\xbf"
                              "a: 1\n"),
            std::nullopt);  // BOM
}

TEST(TextGuardTest, RejectsControlCharacters) {
  std::optional<TextError> e =
      FindEncodingError(std::string("a: 1\nb: \0x", 10));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->line, 2);
  EXPECT_EQ(e->column, 4);
  EXPECT_NE(e->message.find("control character 0x00"), std::string::npos);
  EXPECT_TRUE(FindEncodingError("a\x1b[31m"));
  EXPECT_TRUE(FindEncodingError("a\x7f"));
}

TEST(TextGuardTest, RejectsInvalidUtf8) {
  for (std::string bad :
       {"\xff", "\xc3", "\xc3(", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
        "\xf4\x90\x80\x80", "\xc2\x80", "\xef\xbf\xbe"}) {
    std::optional<TextError> e = FindEncodingError("ok: '" + bad + "'");
    ASSERT_TRUE(e) << testing::PrintToString(bad);
    EXPECT_EQ(e->line, 1);
    EXPECT_EQ(e->column, 6);
    EXPECT_NE(e->message.find("UTF-8"), std::string::npos);
  }
  EXPECT_EQ(FindEncodingError("\xc2\x85"), std::nullopt);  // NEL is allowed
}

TEST(TextGuardTest, NormalConfigIsShallow) {
  std::string text =
      "services:\n"
      "  web:\n"
      "    checks:\n"
      "      health:\n"
      "        http:\n"
      "          headers: {Host: [a, {b: c}]}\n"
      "          url: http://x/   # [[[[[[[[ in a comment\n"
      "      - - - x\n";
  EXPECT_EQ(FindExcessiveNesting(text, kDepth), std::nullopt);
  // yaml-cpp nests 9 deep at "{b: c}"; the estimate says 10.
  EXPECT_EQ(FindExcessiveNesting(text, 10), std::nullopt);
  EXPECT_TRUE(FindExcessiveNesting(text, 9));
}

TEST(TextGuardTest, FlowNesting) {
  std::string text = "a: " + std::string(100000, '[');
  std::optional<TextError> e = FindExcessiveNesting(text, kDepth);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->line, 1);
  EXPECT_EQ(e->column, 4 + kDepth - 2);  // "a" and "a: " count one each
  EXPECT_NE(e->message.find("nesting deeper than 64 levels"),
            std::string::npos);
  EXPECT_TRUE(FindExcessiveNesting(std::string(100000, '{'), kDepth));
  // Closed brackets do not add up.
  std::string flat;
  for (int i = 0; i < 1000; ++i) flat += "[[]]";
  EXPECT_EQ(FindExcessiveNesting("a: [" + flat + "]", kDepth), std::nullopt);
}

TEST(TextGuardTest, FlowNestingAcrossLines) {
  std::string text = "a:\n";
  for (int i = 0; i < 100; ++i) text += std::string(i % 7, ' ') + "[\n";
  std::optional<TextError> e = FindExcessiveNesting(text, kDepth);
  ASSERT_TRUE(e);
  EXPECT_GT(e->line, 2);
}

TEST(TextGuardTest, BlockNesting) {
  std::string dashes;
  for (int i = 0; i < 100000; ++i) dashes += "- ";
  EXPECT_TRUE(FindExcessiveNesting(dashes + "x\n", kDepth));
  std::string questions;
  for (int i = 0; i < 1000; ++i) questions += "? ";
  EXPECT_TRUE(FindExcessiveNesting(questions + "x\n", kDepth));
  std::string indented;
  for (int i = 0; i < 100; ++i) indented += std::string(i, ' ') + "k:\n";
  std::optional<TextError> e = FindExcessiveNesting(indented, kDepth);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->line, 64);  // line n counts n levels and its "key:"
}

TEST(TextGuardTest, QuotesCommentsAndBlockScalarsDoNotCount) {
  std::string brackets(1000, '[');
  EXPECT_EQ(FindExcessiveNesting("a: \"" + brackets + "\"\n", kDepth),
            std::nullopt);
  EXPECT_EQ(FindExcessiveNesting("a: '" + brackets + "'\n", kDepth),
            std::nullopt);
  EXPECT_EQ(FindExcessiveNesting("a: 'it''s " + brackets + "'\n", kDepth),
            std::nullopt);
  EXPECT_EQ(FindExcessiveNesting("a: \"\\\" " + brackets + "\"\n", kDepth),
            std::nullopt);
  EXPECT_EQ(FindExcessiveNesting(
                "a: \"multi\n  line " + brackets + "\"\nb: 1\n", kDepth),
            std::nullopt);
  EXPECT_EQ(
      FindExcessiveNesting("# " + brackets + "\na: 1 # " + brackets, kDepth),
      std::nullopt);
  std::string block = "a: |\n  " + brackets + "\n     " + brackets + "\nb: 1\n";
  EXPECT_EQ(FindExcessiveNesting(block, kDepth), std::nullopt);
  EXPECT_EQ(FindExcessiveNesting("- >-\n  " + brackets + "\n", kDepth),
            std::nullopt);
  // A quote inside a plain scalar does not start a string.
  EXPECT_TRUE(FindExcessiveNesting("a: [x\"" + brackets, kDepth));
  EXPECT_TRUE(FindExcessiveNesting("a: [x \"" + brackets, kDepth));
}

}  // namespace
}  // namespace watchd
