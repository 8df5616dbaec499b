// Typed reads of one file's YAML nodes. Every problem is reported to the
// Diagnostics at the node's place, and the read returns nullopt, so callers
// keep going and one pass collects every error.
#ifndef WATCHD_CONFIG_NODE_READER_H_
#define WATCHD_CONFIG_NODE_READER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_tree.h"

namespace watchd {

class Diagnostics;

// `a` followed by `b`: the keys of a map made of two groups of keys.
template <size_t N, size_t M>
constexpr std::array<std::string_view, N + M> ConcatKeys(
    const std::array<std::string_view, N>& a,
    const std::array<std::string_view, M>& b) {
  std::array<std::string_view, N + M> out{};
  for (size_t i = 0; i < N; ++i) out[i] = a[i];
  for (size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}

class NodeReader {
 public:
  NodeReader(const YamlTree& tree, const std::string& file, Diagnostics* diag)
      : tree_(tree), file_(file), diag_(diag) {}

  const std::string& file() const { return file_; }
  SourceLocation Location(uint32_t node) const;
  void Error(uint32_t node, std::string message);
  bool IsNull(uint32_t node) const;
  // Reports `name` unless it is 1 to 128 letters, digits, '_', '-', '.'
  // or '@': names show up in metrics labels, logs and watchctl arguments.
  bool CheckName(uint32_t node, const std::string& name, std::string_view what);
  bool IsSequence(uint32_t node) const;
  bool IsMap(uint32_t node) const;

  struct Field {
    std::string_view key;
    size_t index;  // of key in the known keys
    uint32_t key_node;
    uint32_t value;
  };
  // A map with known keys; null counts as an empty map. Reports a non-map,
  // keys that are not strings, unknown keys (with a suggestion) and repeated
  // keys; calls `fn` for every other key, in file order.
  void ForEachField(uint32_t node, std::span<const std::string_view> keys,
                    const std::function<void(const Field&)>& fn);

  struct Entry {
    const std::string& name;
    uint32_t key_node;
    uint32_t value;
  };
  // A map of names chosen by the user (checks, headers); null counts as
  // empty. Reports a non-map and keys that are not strings; repeated names
  // too when `unique` (the caller checks them itself otherwise).
  void ForEachEntry(uint32_t node, bool unique,
                    const std::function<void(const Entry&)>& fn);

  // The items of a list; reports anything else.
  void ForEachItem(uint32_t node, const std::function<void(uint32_t)>& fn);

  std::optional<std::string> String(uint32_t node);
  std::optional<std::string> NonEmptyString(uint32_t node);
  std::optional<int64_t> Int(uint32_t node, int64_t min, int64_t max);
  std::optional<bool> Bool(uint32_t node);
  std::optional<Duration> ReadDuration(uint32_t node);
  // A duration that must be more than zero.
  std::optional<Duration> PositiveDuration(uint32_t node);
  std::optional<uint64_t> Size(uint32_t node);
  // The index of the value among `choices`.
  std::optional<size_t> Choice(uint32_t node,
                               std::span<const std::string_view> choices);
  // A list of non-empty strings; with `allow_single`, a single string is a
  // list of one.
  std::optional<std::vector<std::string>> StringList(uint32_t node,
                                                     bool allow_single);
  // A command: a non-empty list of strings, the first one non-empty.
  // `argv0`, when given, receives the place of the first one.
  std::optional<std::vector<std::string>> Argv(uint32_t node,
                                               SourceLocation* argv0 = nullptr);
  // A regular expression ExpectRegex accepts (ECMAScript syntax without
  // back-references or lookaround).
  std::optional<std::string> Regex(uint32_t node);

 private:
  // Charges the visit of `node`; false when the budget is spent.
  bool Visit(uint32_t node);
  const YamlTree::Node& Get(uint32_t node) const { return tree_.node(node); }

  const YamlTree& tree_;
  const std::string& file_;
  Diagnostics* diag_;
};

}  // namespace watchd

#endif  // WATCHD_CONFIG_NODE_READER_H_
