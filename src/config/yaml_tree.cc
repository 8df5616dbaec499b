#include "config/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <exception>
#include <sstream>

namespace watchd {

class YamlTreeBuilder : public YAML::EventHandler {
 public:
  explicit YamlTreeBuilder(YamlTree* tree) : tree_(tree) {}

  int documents() const { return documents_; }
  const YAML::Mark& second_document() const { return second_document_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) second_document_ = mark;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Add(YamlTree::Kind::kNull, mark, anchor, "");
  }
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t anchor) override {
    // yaml-cpp numbers anchors 1, 2, ... and rejects unknown aliases itself.
    Attach(anchors_.at(anchor));
  }
  void OnScalar(const YAML::Mark& mark, const std::string& /*tag*/,
                YAML::anchor_t anchor, const std::string& value) override {
    Add(YamlTree::Kind::kScalar, mark, anchor, value);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    Open(YamlTree::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/,
                  YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    Open(YamlTree::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  uint32_t Add(YamlTree::Kind kind, const YAML::Mark& mark,
               YAML::anchor_t anchor, const std::string& value) {
    auto index = static_cast<uint32_t>(tree_->nodes_.size());
    YamlTree::Node& node = tree_->nodes_.emplace_back();
    node.kind = kind;
    node.line = mark.line + 1;
    node.column = mark.column + 1;
    node.value = value;
    if (anchor != YAML::NullAnchor) {
      if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
      anchors_[anchor] = index;
    }
    Attach(index);
    return index;
  }

  void Attach(uint32_t index) {
    if (depth_ == 0) {
      tree_->root_ = index;
    } else {
      open_[depth_ - 1].children.push_back(index);
    }
  }

  void Open(YamlTree::Kind kind, const YAML::Mark& mark,
            YAML::anchor_t anchor) {
    uint32_t index = Add(kind, mark, anchor, "");
    // Frames are kept, not popped, to reuse their buffers.
    if (open_.size() == depth_) open_.emplace_back();
    open_[depth_].node = index;
    open_[depth_].children.clear();
    ++depth_;
  }

  void Close() {
    Frame& frame = open_[--depth_];
    std::vector<YamlTree::Node>& nodes = tree_->nodes_;
    YamlTree::Node& node = nodes[frame.node];
    node.first = static_cast<uint32_t>(tree_->edges_.size());
    node.count = static_cast<uint32_t>(frame.children.size());
    if (node.kind == YamlTree::Kind::kMap) {
      // yaml-cpp marks an empty value ("key:") where the next token starts,
      // often lines below: place null values at their key. Aliased nodes
      // come before their key and keep their own place.
      for (size_t i = 0; i + 1 < frame.children.size(); i += 2) {
        uint32_t key = frame.children[i];
        uint32_t value = frame.children[i + 1];
        YamlTree::Node& v = nodes[value];
        if (value > key && v.kind == YamlTree::Kind::kNull) {
          v.line = nodes[key].line;
          v.column = nodes[key].column;
        }
      }
    }
    tree_->edges_.insert(tree_->edges_.end(), frame.children.begin(),
                         frame.children.end());
  }

  struct Frame {
    uint32_t node = 0;
    std::vector<uint32_t> children;
  };

  YamlTree* tree_;
  std::vector<Frame> open_;
  size_t depth_ = 0;
  std::vector<uint32_t> anchors_;  // anchor id -> node
  int documents_ = 0;
  YAML::Mark second_document_;
};

std::optional<TextError> YamlTree::Parse(std::string_view text,
                                         YamlTree* tree) {
  *tree = YamlTree();
  if (std::optional<TextError> error = FindEncodingError(text)) return error;
  if (std::optional<TextError> error = FindExcessiveNesting(text, kMaxDepth)) {
    return error;
  }
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    YamlTreeBuilder builder(tree);
    if (!parser.HandleNextDocument(builder)) {
      tree->nodes_.emplace_back();  // no document: a null root
      return std::nullopt;
    }
    if (parser.HandleNextDocument(builder) && builder.documents() > 1) {
      const YAML::Mark& mark = builder.second_document();
      return TextError{mark.line + 1, mark.column + 1,
                       "a second YAML document; a file holds one"};
    }
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return TextError{1, 1, e.msg};
    return TextError{e.mark.line + 1, e.mark.column + 1, e.msg};
  } catch (const std::exception& e) {
    return TextError{1, 1, std::string("cannot parse: ") + e.what()};
  }
}

}  // namespace watchd
