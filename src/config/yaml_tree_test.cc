#include "config/yaml_tree.h"

#include <gtest/gtest.h>

#include <string>

namespace watchd {
namespace {

using Kind = YamlTree::Kind;

YamlTree Parse(const std::string& text) {
  YamlTree tree;
  std::optional<TextError> error = YamlTree::Parse(text, &tree);
  EXPECT_FALSE(error) << error->line << ":" << error->column << ": "
                      << error->message;
  return tree;
}

TEST(YamlTreeTest, EmptyTextIsNull) {
  for (std::string text : {"", "# only a comment\n", "\n\n", "---\n"}) {
    YamlTree tree = Parse(text);
    EXPECT_EQ(tree.node(tree.root()).kind, Kind::kNull) << text;
  }
}

TEST(YamlTreeTest, MapsSequencesScalarsWithPositions) {
  YamlTree tree = Parse("a: 1\nb:\n  - x\n  - [y, 'z']\nc:\nd: ~\n");
  const YamlTree::Node& root = tree.node(tree.root());
  ASSERT_EQ(root.kind, Kind::kMap);
  auto kids = tree.children(tree.root());
  ASSERT_EQ(kids.size(), 8u);
  EXPECT_EQ(tree.node(kids[0]).value, "a");
  EXPECT_EQ(tree.node(kids[1]).value, "1");
  EXPECT_EQ(tree.node(kids[1]).line, 1);
  EXPECT_EQ(tree.node(kids[1]).column, 4);
  const YamlTree::Node& list = tree.node(kids[3]);
  EXPECT_EQ(list.kind, Kind::kSequence);
  EXPECT_EQ(list.line, 3);
  EXPECT_EQ(list.column, 3);
  auto items = tree.children(kids[3]);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(tree.node(items[1]).kind, Kind::kSequence);
  auto inner = tree.children(items[1]);
  ASSERT_EQ(inner.size(), 2u);
  EXPECT_EQ(tree.node(inner[1]).value, "z");
  EXPECT_EQ(tree.node(inner[1]).line, 4);
  EXPECT_EQ(tree.node(inner[1]).column, 9);
  // A null value is placed at its key, not at the next token.
  EXPECT_EQ(tree.node(kids[5]).kind, Kind::kNull);
  EXPECT_EQ(tree.node(kids[5]).line, 5);
  EXPECT_EQ(tree.node(kids[5]).column, 1);
  EXPECT_EQ(tree.node(kids[7]).kind, Kind::kNull);
  EXPECT_EQ(tree.node(kids[7]).line, 6);
  EXPECT_EQ(tree.node(kids[7]).column, 1);
}

TEST(YamlTreeTest, QuotedNullIsAString) {
  YamlTree tree = Parse("a: 'null'\n");
  EXPECT_EQ(tree.node(tree.children(tree.root())[1]).kind, Kind::kScalar);
}

TEST(YamlTreeTest, ColumnsCountBytes) {
  YamlTree tree = Parse("x: [\"é\", y]\n");
  auto items = tree.children(tree.children(tree.root())[1]);
  EXPECT_EQ(tree.node(items[1]).column, 11);
}

TEST(YamlTreeTest, AliasesShareTheAnchoredNode) {
  YamlTree tree = Parse("a: &x {k: v}\nb: *x\nc: *x\n");
  auto kids = tree.children(tree.root());
  EXPECT_EQ(kids[1], kids[3]);
  EXPECT_EQ(kids[1], kids[5]);
}

TEST(YamlTreeTest, SelfReferenceIsACycleNotARecursion) {
  YamlTree tree = Parse("a: &x [1, *x]\n");
  uint32_t list = tree.children(tree.root())[1];
  EXPECT_EQ(tree.children(list)[1], list);
}

TEST(YamlTreeTest, DuplicateKeysAreKept) {
  YamlTree tree = Parse("a: 1\na: 2\n");
  EXPECT_EQ(tree.children(tree.root()).size(), 4u);
}

TEST(YamlTreeTest, SyntaxErrorHasAPosition) {
  YamlTree tree;
  std::optional<TextError> e = YamlTree::Parse("a: [1, 2\nb: 3\n", &tree);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->line, 2);
  EXPECT_EQ(e->column, 2);
  EXPECT_NE(e->message.find("end of sequence flow not found"),
            std::string::npos);
  e = YamlTree::Parse("a: *nope\n", &tree);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->line, 1);
  EXPECT_EQ(e->column, 4);
  EXPECT_NE(e->message.find("anchor is not defined"), std::string::npos);
}

TEST(YamlTreeTest, SecondDocumentIsAnError) {
  YamlTree tree;
  std::optional<TextError> e = YamlTree::Parse("a: 1\n---\nb: 2\n", &tree);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->line, 2);  // at the "---"
  EXPECT_NE(e->message.find("second YAML document"), std::string::npos);
}

TEST(YamlTreeTest, GuardsRunFirst) {
  YamlTree tree;
  std::optional<TextError> e = YamlTree::Parse(std::string(100000, '['), &tree);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("nesting deeper than 64"), std::string::npos);
  e = YamlTree::Parse("a: \xff\n", &tree);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace watchd
