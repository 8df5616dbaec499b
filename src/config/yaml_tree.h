// A YAML document as a flat tree with the source position of every node,
// built from yaml-cpp's parser events. Aliases share the anchored node (they
// are not copied), so alias bombs cost no memory; a node can then be reached
// along many paths, which is why readers budget the nodes they visit.
#ifndef WATCHD_CONFIG_YAML_TREE_H_
#define WATCHD_CONFIG_YAML_TREE_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/text_guard.h"

namespace watchd {

class YamlTree {
 public:
  enum class Kind : uint8_t { kNull, kScalar, kSequence, kMap };

  struct Node {
    Kind kind = Kind::kNull;
    int line = 0;        // 1-based
    int column = 0;      // 1-based, in bytes
    uint32_t first = 0;  // children: edges()[first, first + count)
    uint32_t count = 0;
    std::string value;  // scalars only
  };

  // Nesting deeper than this is refused before yaml-cpp (which recurses per
  // level) sees the text; watchd's own schema needs fewer than ten levels.
  static constexpr int kMaxDepth = 64;

  // Parses one YAML document. Empty text (or only comments) gives a null
  // root. Syntax errors, bad encoding, excessive nesting and a second
  // document are errors. Never throws.
  static std::optional<TextError> Parse(std::string_view text, YamlTree* tree);

  uint32_t root() const { return root_; }
  size_t size() const { return nodes_.size(); }
  const Node& node(uint32_t index) const { return nodes_[index]; }
  // A sequence's items; a map's keys and values, alternating.
  std::span<const uint32_t> children(uint32_t index) const {
    const Node& n = nodes_[index];
    return std::span<const uint32_t>(edges_).subspan(n.first, n.count);
  }

 private:
  friend class YamlTreeBuilder;
  std::vector<Node> nodes_;
  std::vector<uint32_t> edges_;
  uint32_t root_ = 0;
};

}  // namespace watchd

#endif  // WATCHD_CONFIG_YAML_TREE_H_
