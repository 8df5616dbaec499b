// Checks on raw configuration text made before yaml-cpp sees it: yaml-cpp's
// parser recurses once per nesting level, and garbage bytes are better
// reported as such than as puzzling syntax errors.
#ifndef WATCHD_CONFIG_TEXT_GUARD_H_
#define WATCHD_CONFIG_TEXT_GUARD_H_

#include <optional>
#include <string>
#include <string_view>

namespace watchd {

// A problem at a place in a text; line and column 1-based, columns in bytes.
struct TextError {
  int line = 0;
  int column = 0;
  std::string message;
};

// The first byte that is not valid UTF-8, or a control character other than
// tab, CR and LF (YAML allows neither).
std::optional<TextError> FindEncodingError(std::string_view text);

// Where the YAML in `text` first nests deeper than `max_depth` collections,
// by a cheap over-estimate: each open indentation level, each "- ", "? " and
// "key: " on a line and each open '[' or '{' counts one; quoted strings,
// comments and block scalars count nothing.
std::optional<TextError> FindExcessiveNesting(std::string_view text,
                                              int max_depth);

}  // namespace watchd

#endif  // WATCHD_CONFIG_TEXT_GUARD_H_
