#include "config/node_reader.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "config/diagnostics.h"
#include "config/did_you_mean.h"
#include "config/duration.h"
#include "config/size.h"
#include "core/expect_regex.h"

namespace watchd {
namespace {

using Kind = YamlTree::Kind;

// libstdc++ compiles a regex by recursive descent, one frame per term and
// per group: bound both so a hostile pattern cannot exhaust the stack.
constexpr size_t kMaxRegexLength = 1024;
constexpr int kMaxRegexGroupDepth = 32;

// Repeated keys are rare, so a linear scan over the few keys of a schema map
// is cheapest; maps of user names can be large and get a hash map.
constexpr size_t kLinearScanLimit = 16;

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "?";
}

std::string Where(const SourceLocation& loc) {
  return loc.file + ":" + std::to_string(loc.line) + ":" +
         std::to_string(loc.column);
}

int GroupDepth(const std::string& pattern) {
  int depth = 0;
  int max_depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ')') {
      depth = std::max(0, depth - 1);
    }
  }
  return max_depth;
}

std::string ChoiceList(std::span<const std::string_view> choices) {
  std::string out;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += choices[i];
  }
  return out;
}

}  // namespace

SourceLocation NodeReader::Location(uint32_t node) const {
  const YamlTree::Node& n = Get(node);
  return SourceLocation{file_, n.line, n.column};
}

void NodeReader::Error(uint32_t node, std::string message) {
  diag_->Error(Location(node), std::move(message));
}

bool NodeReader::IsNull(uint32_t node) const {
  return Get(node).kind == Kind::kNull;
}

bool NodeReader::CheckName(uint32_t node, const std::string& name,
                           std::string_view what) {
  bool ok = !name.empty() && name.size() <= 128;
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
                c == '@');
  }
  if (!ok) {
    Error(node, "invalid " + std::string(what) + " name '" + name +
                    "': use 1 to 128 letters, digits, '_', '-', '.' or '@'");
  }
  return ok;
}

bool NodeReader::IsSequence(uint32_t node) const {
  return Get(node).kind == Kind::kSequence;
}

bool NodeReader::IsMap(uint32_t node) const {
  return Get(node).kind == Kind::kMap;
}

bool NodeReader::Visit(uint32_t node) {
  return diag_->Visit([&] { return Location(node); });
}

void NodeReader::ForEachField(uint32_t node,
                              std::span<const std::string_view> keys,
                              const std::function<void(const Field&)>& fn) {
  const YamlTree::Node& map = Get(node);
  if (map.kind == Kind::kNull) return;
  if (map.kind != Kind::kMap) {
    Error(node, "expected a map, found " + KindName(map.kind));
    return;
  }
  std::span<const uint32_t> children = tree_.children(node);
  std::vector<uint32_t> seen(keys.size(), UINT32_MAX);  // index -> key node
  for (size_t i = 0; i + 1 < children.size(); i += 2) {
    uint32_t key_node = children[i];
    if (!Visit(key_node)) return;
    const YamlTree::Node& key = Get(key_node);
    if (key.kind != Kind::kScalar) {
      Error(key_node, "expected a key name, found " + KindName(key.kind));
      continue;
    }
    size_t index = 0;
    while (index < keys.size() && keys[index] != key.value) ++index;
    if (index == keys.size()) {
      Error(key_node,
            "unknown key '" + key.value + "'" + DidYouMean(key.value, keys));
      continue;
    }
    if (seen[index] != UINT32_MAX) {
      Error(key_node, "duplicate key '" + key.value + "' (first at " +
                          Where(Location(seen[index])) + ")");
      continue;
    }
    seen[index] = key_node;
    fn(Field{key.value, index, key_node, children[i + 1]});
  }
}

void NodeReader::ForEachEntry(uint32_t node, bool unique,
                              const std::function<void(const Entry&)>& fn) {
  const YamlTree::Node& map = Get(node);
  if (map.kind == Kind::kNull) return;
  if (map.kind != Kind::kMap) {
    Error(node, "expected a map, found " + KindName(map.kind));
    return;
  }
  std::span<const uint32_t> children = tree_.children(node);
  std::unordered_map<std::string_view, uint32_t> seen;
  for (size_t i = 0; i + 1 < children.size(); i += 2) {
    uint32_t key_node = children[i];
    if (!Visit(key_node)) return;
    const YamlTree::Node& key = Get(key_node);
    if (key.kind != Kind::kScalar) {
      Error(key_node, "expected a name, found " + KindName(key.kind));
      continue;
    }
    if (unique) {
      std::optional<uint32_t> first;
      if (children.size() / 2 <= kLinearScanLimit) {
        for (size_t j = 0; j < i && !first; j += 2) {
          if (Get(children[j]).kind == Kind::kScalar &&
              Get(children[j]).value == key.value) {
            first = children[j];
          }
        }
      } else if (auto [it, inserted] = seen.emplace(key.value, key_node);
                 !inserted) {
        first = it->second;
      }
      if (first) {
        Error(key_node, "duplicate name '" + key.value + "' (first at " +
                            Where(Location(*first)) + ")");
        continue;
      }
    }
    fn(Entry{key.value, key_node, children[i + 1]});
  }
}

void NodeReader::ForEachItem(uint32_t node,
                             const std::function<void(uint32_t)>& fn) {
  const YamlTree::Node& n = Get(node);
  if (n.kind != Kind::kSequence) {
    Error(node, "expected a list, found " + KindName(n.kind));
    return;
  }
  for (uint32_t item : tree_.children(node)) {
    if (!Visit(item)) return;
    fn(item);
  }
}

std::optional<std::string> NodeReader::String(uint32_t node) {
  const YamlTree::Node& n = Get(node);
  if (n.kind != Kind::kScalar) {
    Error(node, "expected a string, found " + KindName(n.kind));
    return std::nullopt;
  }
  return n.value;
}

std::optional<std::string> NodeReader::NonEmptyString(uint32_t node) {
  std::optional<std::string> s = String(node);
  if (s && s->empty()) {
    Error(node, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> NodeReader::Int(uint32_t node, int64_t min,
                                       int64_t max) {
  const YamlTree::Node& n = Get(node);
  int64_t value = 0;
  const char* begin = n.value.data();
  const char* end = begin + n.value.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (n.kind != Kind::kScalar || n.value.empty() ||
      ec == std::errc::invalid_argument || ptr != end) {
    Error(node, "expected an integer, found " + (n.kind == Kind::kScalar
                                                     ? "'" + n.value + "'"
                                                     : KindName(n.kind)));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    Error(node, "must be from " + std::to_string(min) + " to " +
                    std::to_string(max) + ", not " + n.value);
    return std::nullopt;
  }
  return value;
}

std::optional<bool> NodeReader::Bool(uint32_t node) {
  const YamlTree::Node& n = Get(node);
  if (n.kind == Kind::kScalar) {
    static constexpr std::string_view kTrue[] = {
        "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static constexpr std::string_view kFalse[] = {
        "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (std::string_view t : kTrue) {
      if (n.value == t) return true;
    }
    for (std::string_view f : kFalse) {
      if (n.value == f) return false;
    }
  }
  Error(node,
        "expected true or false, found " +
            (n.kind == Kind::kScalar ? "'" + n.value + "'" : KindName(n.kind)));
  return std::nullopt;
}

std::optional<Duration> NodeReader::ReadDuration(uint32_t node) {
  const YamlTree::Node& n = Get(node);
  if (n.kind != Kind::kScalar) {
    Error(node,
          "expected a duration string like 10s, found " + KindName(n.kind));
    return std::nullopt;
  }
  Result<Duration> d = ParseDuration(n.value);
  if (!d.ok()) {
    Error(node, d.status().message());
    return std::nullopt;
  }
  return *d;
}

std::optional<Duration> NodeReader::PositiveDuration(uint32_t node) {
  std::optional<Duration> d = ReadDuration(node);
  if (d && *d <= Duration::zero()) {
    Error(node, "must be longer than 0s");
    return std::nullopt;
  }
  return d;
}

std::optional<uint64_t> NodeReader::Size(uint32_t node) {
  const YamlTree::Node& n = Get(node);
  if (n.kind != Kind::kScalar) {
    Error(node, "expected a size like 64MiB, found " + KindName(n.kind));
    return std::nullopt;
  }
  Result<uint64_t> size = ParseSize(n.value);
  if (!size.ok()) {
    Error(node, size.status().message());
    return std::nullopt;
  }
  return *size;
}

std::optional<size_t> NodeReader::Choice(
    uint32_t node, std::span<const std::string_view> choices) {
  const YamlTree::Node& n = Get(node);
  if (n.kind == Kind::kScalar) {
    for (size_t i = 0; i < choices.size(); ++i) {
      if (choices[i] == n.value) return i;
    }
    Error(node, "invalid value '" + n.value + "': expected " +
                    ChoiceList(choices) + DidYouMean(n.value, choices));
    return std::nullopt;
  }
  Error(node,
        "expected " + ChoiceList(choices) + ", found " + KindName(n.kind));
  return std::nullopt;
}

std::optional<std::vector<std::string>> NodeReader::StringList(
    uint32_t node, bool allow_single) {
  const YamlTree::Node& n = Get(node);
  if (allow_single && n.kind == Kind::kScalar) {
    std::optional<std::string> s = NonEmptyString(node);
    if (!s) return std::nullopt;
    return std::vector<std::string>{std::move(*s)};
  }
  if (n.kind != Kind::kSequence) {
    Error(node,
          std::string(allow_single ? "expected a string or a list of "
                                     "strings, found "
                                   : "expected a list of strings, found ") +
              KindName(n.kind));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (uint32_t item : tree_.children(node)) {
    if (!Visit(item)) return std::nullopt;
    std::optional<std::string> s = NonEmptyString(item);
    if (s) {
      out.push_back(std::move(*s));
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> NodeReader::Argv(
    uint32_t node, SourceLocation* argv0) {
  const YamlTree::Node& n = Get(node);
  if (n.kind != Kind::kSequence) {
    Error(node,
          "expected a command as a list of arguments, like [/bin/true], "
          "found " +
              KindName(n.kind));
    return std::nullopt;
  }
  if (n.count == 0) {
    Error(node, "the command must not be empty");
    return std::nullopt;
  }
  std::vector<std::string> argv;
  bool ok = true;
  for (uint32_t item : tree_.children(node)) {
    if (!Visit(item)) return std::nullopt;
    std::optional<std::string> arg =
        argv.empty() ? NonEmptyString(item) : String(item);
    if (arg) {
      argv.push_back(std::move(*arg));
    } else {
      ok = false;
      argv.emplace_back();
    }
  }
  if (!ok) return std::nullopt;
  if (argv0 != nullptr) *argv0 = Location(tree_.children(node).front());
  return argv;
}

std::optional<std::string> NodeReader::Regex(uint32_t node) {
  std::optional<std::string> pattern = String(node);
  if (!pattern) return std::nullopt;
  if (pattern->size() > kMaxRegexLength) {
    Error(node,
          "regex longer than " + std::to_string(kMaxRegexLength) + " bytes");
    return std::nullopt;
  }
  if (GroupDepth(*pattern) > kMaxRegexGroupDepth) {
    Error(node, "regex nests groups deeper than " +
                    std::to_string(kMaxRegexGroupDepth));
    return std::nullopt;
  }
  // The probes match with ExpectRegex (linear time, bounded stack), so it
  // is the judge of what a pattern may say.
  if (auto re = ExpectRegex::Compile(*pattern); !re.ok()) {
    Error(node, "invalid regex '" + *pattern + "': " + re.status().message());
    return std::nullopt;
  }
  return pattern;
}

}  // namespace watchd
