// Assertions on LoadResult errors for the config tests.
#ifndef WATCHD_CONFIG_LOADER_TESTING_H_
#define WATCHD_CONFIG_LOADER_TESTING_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/loader.h"

namespace watchd::testing {

// Every error as "FILE:LINE:COL: message", one per line.
inline std::string AllErrors(const LoadResult& result) {
  std::string out;
  for (const ConfigError& e : result.errors) out += e.ToString() + "\n";
  return out;
}

// "FILE:LINE:COL" of the `nth` (1-based) occurrence of `needle` in `text`:
// tests name a place by the text found there.
inline std::string Pos(std::string_view text, std::string_view needle,
                       int nth = 1, std::string_view file = "w.yaml") {
  size_t at = std::string_view::npos;
  for (int i = 0; i < nth; ++i) {
    at = text.find(needle, at == std::string_view::npos ? 0 : at + 1);
    if (at == std::string_view::npos) {
      ADD_FAILURE() << "'" << needle << "' #" << nth << " not in the text";
      return "?";
    }
  }
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::string(file) + ":" + std::to_string(line) + ":" +
         std::to_string(at - line_start + 1);
}

// Holds when an error is exactly at `where` ("FILE:LINE:COL") and its
// message contains `text`.
inline ::testing::AssertionResult HasError(const LoadResult& result,
                                           std::string_view where,
                                           std::string_view text) {
  for (const ConfigError& e : result.errors) {
    std::string s = e.ToString();
    if (s.starts_with(std::string(where) + ": ") &&
        e.message.find(text) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure()
         << "no error at " << where << " containing '" << text << "'; errors:\n"
         << AllErrors(result);
}

}  // namespace watchd::testing

#endif  // WATCHD_CONFIG_LOADER_TESTING_H_
