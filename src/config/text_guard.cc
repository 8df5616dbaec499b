#include "config/text_guard.h"

#include <cstdint>
#include <cstdio>
#include <vector>

namespace watchd {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Characters after which a quote opens a quoted scalar rather than being
// part of a plain one.
bool OpensToken(char c) {
  return c == ' ' || c == '[' || c == '{' || c == ',' || c == ':' || c == '-' ||
         c == '?';
}

// Length of the valid UTF-8 sequence at text[i] encoding an allowed
// character, or 0.
size_t AllowedCharLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    bool control = b0 < 0x20 || b0 == 0x7f;
    return (control && b0 != '\t' && b0 != '\n' && b0 != '\r') ? 0 : 1;
  }
  size_t len;
  uint32_t cp;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10ffff) return 0;  // overlong, too big
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;              // surrogates
  if (cp >= 0x80 && cp <= 0x9f && cp != 0x85) return 0;    // C1 controls
  if (cp == 0xfffe || cp == 0xffff) return 0;
  return len;
}

}  // namespace

std::optional<TextError> FindEncodingError(std::string_view text) {
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < text.size();) {
    size_t len = AllowedCharLength(text, i);
    if (len == 0) {
      auto b = static_cast<unsigned char>(text[i]);
      char message[96];
      if (b < 0x80) {
        std::snprintf(message, sizeof(message),
                      "control character 0x%02x is not allowed in YAML", b);
      } else {
        std::snprintf(message, sizeof(message),
                      "not valid UTF-8 (byte 0x%02x); configuration files "
                      "must be UTF-8 text",
                      b);
      }
      return TextError{line, static_cast<int>(i - line_start) + 1, message};
    }
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
    i += len;
  }
  return std::nullopt;
}

std::optional<TextError> FindExcessiveNesting(std::string_view text,
                                              int max_depth) {
  std::vector<size_t> indents;  // columns of the open block levels
  int flow = 0;                 // open '[' and '{'
  int depth_outside_flow = 0;   // block depth where the flow collection began
  char quote = 0;               // open quote of a scalar spanning lines
  bool in_block_scalar = false;
  size_t block_scalar_indent = 0;  // content is indented more than this
  int line = 0;
  auto too_deep = [&](size_t column) {
    return TextError{
        line, static_cast<int>(column) + 1,
        "nesting deeper than " + std::to_string(max_depth) + " levels"};
  };

  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view l = text.substr(pos, eol - pos);
    pos = eol + 1;
    ++line;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);

    size_t indent = 0;
    while (indent < l.size() && l[indent] == ' ') ++indent;
    bool blank = indent == l.size() || l[indent] == '#' || l[indent] == '\t';
    if (in_block_scalar) {
      if (blank || indent > block_scalar_indent) continue;
      in_block_scalar = false;
    }

    size_t i = 0;
    int depth = depth_outside_flow;
    if (quote == 0 && flow == 0) {
      if (blank) continue;
      while (!indents.empty() && indents.back() > indent) indents.pop_back();
      if (indents.empty() || indents.back() < indent) indents.push_back(indent);
      depth = static_cast<int>(indents.size());
      i = indent;
      // Each "- " or "? " opens one more collection on the same line.
      while (i < l.size() && (l[i] == '-' || l[i] == '?') &&
             (i + 1 == l.size() || IsBlank(l[i + 1]))) {
        if (++depth > max_depth) return too_deep(i);
        i += 1;
        while (i < l.size() && IsBlank(l[i])) ++i;
      }
    }

    char last = ' ';  // last significant character
    size_t content_end = l.size();
    for (; i < l.size(); ++i) {
      char c = l[i];
      if (quote != 0) {
        if (quote == '\'' && c == '\'') {
          if (i + 1 < l.size() && l[i + 1] == '\'') {
            ++i;
          } else {
            quote = 0;
          }
        } else if (quote == '"' && c == '\\') {
          ++i;
        } else if (quote == '"' && c == '"') {
          quote = 0;
        }
        last = 'x';
        continue;
      }
      if (IsBlank(c)) continue;
      bool after_blank = i == 0 || IsBlank(l[i - 1]);
      if (c == '#' && after_blank) {
        content_end = i;
        break;
      }
      bool at_token_start = after_blank || OpensToken(l[i - 1]);
      if ((c == '\'' || c == '"') && at_token_start && OpensToken(last)) {
        quote = c;
        continue;
      }
      if (c == '[' || c == '{') {
        if (flow == 0) depth_outside_flow = depth;
        ++flow;
        if (depth_outside_flow + flow > max_depth) return too_deep(i);
      } else if (c == ']' || c == '}') {
        if (flow > 0) --flow;
      } else if (c == ':' && flow == 0 &&
                 (i + 1 == l.size() || IsBlank(l[i + 1]))) {
        if (++depth > max_depth) return too_deep(i);
      }
      last = c;
    }

    // A block scalar header ("|", ">-", "|2+" ...) ends the line: the
    // more indented lines after it are text, not structure.
    if (quote == 0 && flow == 0) {
      size_t end = content_end;
      while (end > 0 && IsBlank(l[end - 1])) --end;
      size_t k = end;
      while (k > 0 && (l[k - 1] == '+' || l[k - 1] == '-' ||
                       (l[k - 1] >= '0' && l[k - 1] <= '9'))) {
        --k;
      }
      if (k > 0 && (l[k - 1] == '|' || l[k - 1] == '>') &&
          (k == 1 || IsBlank(l[k - 2]))) {
        in_block_scalar = true;
        block_scalar_indent = indent;
      }
    }
  }
  return std::nullopt;
}

}  // namespace watchd
