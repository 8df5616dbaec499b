#include "config/placeholders.h"

#include <optional>
#include <string>
#include <vector>

#include "config/did_you_mean.h"
#include "config/node_reader.h"

namespace watchd {
namespace {

// "{a}, {b} or {c}".
std::string ListOf(std::span<const std::string_view> names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += "{" + std::string(names[i]) + "}";
  }
  return out;
}

void ReportUnknown(NodeReader& reader, uint32_t node, std::string_view word,
                   std::span<const std::string_view> names) {
  std::vector<std::string> braced;
  for (std::string_view name : names)
    braced.push_back("{" + std::string(name) + "}");
  std::vector<std::string_view> candidates(braced.begin(), braced.end());
  reader.Error(node, "unknown placeholder '" + std::string(word) + "': use " +
                         ListOf(names) + DidYouMean(word, candidates));
}

bool IsWordChar(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

}  // namespace

void CheckArgvPlaceholders(NodeReader& reader, uint32_t argv_node,
                           std::span<const std::string_view> names) {
  reader.ForEachItem(argv_node, [&](uint32_t item) {
    std::optional<std::string> arg = reader.String(item);
    if (!arg) return;
    for (std::string_view name : names) {
      if (*arg == "{" + std::string(name) + "}") return;
    }
    for (std::string_view name : names) {
      const std::string placeholder = "{" + std::string(name) + "}";
      if (arg->find(placeholder) != std::string::npos) {
        reader.Error(item, "'" + placeholder +
                               "' replaces whole arguments only: make it an "
                               "argument of its own");
        return;
      }
    }
    bool looks_like_placeholder =
        arg->size() > 2 && arg->front() == '{' && arg->back() == '}' &&
        arg->find_first_of(" \"'{}:,", 1) == arg->size() - 1;
    if (looks_like_placeholder) ReportUnknown(reader, item, *arg, names);
  });
}

void CheckTextPlaceholders(NodeReader& reader, uint32_t node,
                           std::string_view text,
                           std::span<const std::string_view> names) {
  for (size_t open = text.find('{'); open != std::string_view::npos;
       open = text.find('{', open + 1)) {
    size_t end = open + 1;
    while (end < text.size() && IsWordChar(text[end])) ++end;
    if (end == open + 1 || end == text.size() || text[end] != '}') continue;
    std::string_view word = text.substr(open + 1, end - open - 1);
    bool known = false;
    for (std::string_view name : names) known = known || name == word;
    if (!known) {
      ReportUnknown(reader, node, text.substr(open, end - open + 1), names);
    }
  }
}

}  // namespace watchd
