#include "core/expect_regex.h"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>

namespace watchd {
namespace {

bool Search(const std::string& pattern, const std::string& text) {
  auto re = ExpectRegex::Compile(pattern);
  EXPECT_TRUE(re.ok()) << pattern << ": " << re.status().ToString();
  return re.ok() && re->Search(text);
}

// On short texts std::regex is safe and is the reference for the syntax.
TEST(ExpectRegexTest, AgreesWithStdRegex) {
  const std::vector<std::string> patterns = {
      "",
      "PONG",
      "^\\+PONG\\r\\n",
      "^SSH-2\\.0-",
      "ok$",
      "^$",
      "a|b|",
      "(ab)+c",
      "(?:ab)*c",
      "a{2}",
      "a{2,}",
      "a{1,3}b",
      "x?y",
      "colou?r",
      "[abc]+",
      "[^abc]",
      "[a-z0-9_]+@",
      "[-a]",
      "[a-]",
      "[]",
      "[^]",
      "\\d+\\.\\d+",
      "\\D",
      "\\w+",
      "\\W",
      "\\s",
      "\\S+",
      "\\bword\\b",
      "\\Bor",
      ".",
      "a.c",
      "\\x41",
      "\\u0042",
      "\\t",
      "[\\d\\s]+x",
      "(a|ab)(c|bcd)(d*)",
      "role:(master|slave)",
      "^(HTTP/1\\.[01]) 200",
      "a*?b",
      "(a+)+$",
      "\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\",
      "ab]",
      "a}",
      "\\/"};
  const std::vector<std::string> texts = {"",
                                          "PONG",
                                          "+PONG\r\n",
                                          "-ERR\r\n",
                                          "SSH-2.0-OpenSSH_9.2\r\n",
                                          "it is ok",
                                          "ok\n",
                                          "abababc",
                                          "aa",
                                          "aaab",
                                          "y",
                                          "color",
                                          "colour",
                                          "cab",
                                          "xyz",
                                          "user@host",
                                          "-",
                                          "1.25",
                                          "a word here",
                                          "words",
                                          "A",
                                          "B",
                                          "\t",
                                          "1 2 3x",
                                          "abcd",
                                          "abcdd",
                                          "role:master\r\n",
                                          "HTTP/1.1 200 OK",
                                          "aaaaaaaaaaab",
                                          ".*+?()[]{}|^$\\",
                                          "ab]",
                                          "a}",
                                          "/",
                                          "line1\nline2",
                                          "\xc3\xa9t\xc3\xa9"};
  for (const auto& pattern : patterns) {
    std::regex reference(pattern, std::regex::ECMAScript);
    auto ours = ExpectRegex::Compile(pattern);
    ASSERT_TRUE(ours.ok()) << pattern << ": " << ours.status().ToString();
    for (const auto& text : texts) {
      EXPECT_EQ(ours->Search(text), std::regex_search(text, reference))
          << "/" << pattern << "/ on \"" << text << "\"";
    }
  }
}

TEST(ExpectRegexTest, DotStopsAtLineEnds) {
  EXPECT_FALSE(Search("a.b", "a\nb"));
  EXPECT_FALSE(Search("a.b", "a\rb"));
  EXPECT_TRUE(Search("a[\\s\\S]b", "a\nb"));
  EXPECT_TRUE(Search("^line2", "line2\nx"));
  EXPECT_FALSE(Search("^line2", "line1\nline2"));
}

TEST(ExpectRegexTest, MatchesBytes) {
  EXPECT_TRUE(Search("\\u00e9t\\u00e9", "\xc3\xa9t\xc3\xa9"));
  EXPECT_TRUE(Search("a\\0b", std::string("a\0b", 3)));
  EXPECT_TRUE(Search("\\x00", std::string("\x01\x00", 2)));
  EXPECT_TRUE(Search("[\\x80-\\xff]", "\xc3"));
}

TEST(ExpectRegexTest, RejectsWhatItCannotMatchLinearly) {
  for (const char* bad :
       {"(a)\\1",
        "(?=a)",
        "(?!a)",
        "(?<=a)b",
        "(?<name>a)",
        "\\k<name>",
        "(",
        ")",
        "a)",
        "[a",
        "*a",
        "a**",
        "a{2",
        "a{3,1}",
        "a{1001}",
        "^*",
        "\\",
        "[b-a]",
        "\\x4",
        "\\u12",
        "[\\u0100]",
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
        "(a)))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
        "((a{1000}){1000}){1000}",
        "a{1000}b{1000}"}) {
    EXPECT_FALSE(ExpectRegex::Compile(bad).ok()) << bad;
  }
  EXPECT_EQ(ExpectRegex::Compile("(a)\\1").status().message(),
            "back-references are not supported");
  EXPECT_EQ(ExpectRegex::Compile("a)").status().message(), "unbalanced ')'");
}

// The patterns that overflow std::regex's stack or take it seconds.
TEST(ExpectRegexTest, LinearOnLargeTexts) {
  const std::string text(1 << 20, 'a');
  const auto start = std::chrono::steady_clock::now();
  for (const char* pattern :
       {".*x", "(a|b)*x", "[a-z]+x", "(a+)+$x", "((a|b)*c)*x", "\\w+x"}) {
    EXPECT_FALSE(Search(pattern, text)) << pattern;
  }
  EXPECT_TRUE(Search("(a+)+$", text));
  // The largest programs cost the most per byte.
  EXPECT_TRUE(Search("a{1000}$", text.substr(0, 1 << 16)));
  // Generous even under sanitizers on a loaded machine; std::regex takes
  // seconds for 16 KiB of this, or crashes.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

}  // namespace
}  // namespace watchd
