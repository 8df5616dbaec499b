// include: globs relative to the including file, nesting, cycles, and names
// defined across files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "config/loader.h"
#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::AllErrors;
using testing::HasError;
using testing::Pos;
using watchd::testing::TempDir;

class LoaderIncludeTest : public ::testing::Test {
 protected:
  // Writes `text` to `name` under the temp dir, creating directories.
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_.File(name);
    for (size_t slash = path.find('/', dir_.path().size() + 1);
         slash != std::string::npos; slash = path.find('/', slash + 1)) {
      mkdir(path.substr(0, slash).c_str(), 0755);
    }
    EXPECT_TRUE(watchd::testing::WriteFile(path, text)) << path;
    return path;
  }
  static std::string Service(const std::string& name) {
    return "services:\n  " + name +
           ":\n    checks: {t: {tcp: {host: x, port: 1}}}\n";
  }
  static std::vector<std::string> ServiceNames(const LoadResult& r) {
    std::vector<std::string> names;
    for (const ServiceConfig& s : r.config.services) names.push_back(s.name);
    return names;
  }

  TempDir dir_;
};

TEST_F(LoaderIncludeTest, RelativeGlobsInFileOrder) {
  std::string main =
      Write("watchd.yaml", "include: [checks.d/*.yaml]\n" + Service("main"));
  Write("checks.d/b.yaml", Service("b"));
  Write("checks.d/a.yaml", Service("a"));
  Write("checks.d/c.yml", Service("not_included"));
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(ServiceNames(r), (std::vector<std::string>{"main", "a", "b"}));
  EXPECT_EQ(r.config.files,
            (std::vector<std::string>{main, dir_.File("checks.d/a.yaml"),
                                      dir_.File("checks.d/b.yaml")}));
  EXPECT_EQ(r.config.services[1].location.file, dir_.File("checks.d/a.yaml"));
}

TEST_F(LoaderIncludeTest, NestedIncludesAreRelativeToTheIncludingFile) {
  std::string main = Write("watchd.yaml", "include: sub/inner.yaml\n");
  Write("sub/inner.yaml", "include: [more/*.yaml, '" + dir_.File("abs.yaml") +
                              "']\n" + Service("inner"));
  Write("sub/more/deep.yaml", Service("deep"));
  Write("more/wrong.yaml", Service("wrong"));
  Write("abs.yaml", Service("absolute"));
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(ServiceNames(r),
            (std::vector<std::string>{"inner", "deep", "absolute"}));
}

TEST_F(LoaderIncludeTest, IncludedFilesMayHoldServicesAndSupervisors) {
  std::string main = Write("watchd.yaml",
                           "include: [conf.d/*]\n"
                           "services:\n"
                           "  web: {supervisor: sd, depends_on: [db]}\n");
  Write("conf.d/supervisors.yaml", "supervisors: {sd: {type: systemd}}\n");
  Write("conf.d/services.yaml", "services: {db: {supervisor: sd}}\n");
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.supervisors.count("sd"), 1u);
  EXPECT_EQ(ServiceNames(r), (std::vector<std::string>{"web", "db"}));
}

TEST_F(LoaderIncludeTest, DefaultsApplyToIncludedServices) {
  std::string main = Write("watchd.yaml",
                           "include: x.yaml\n"
                           "defaults: {interval: 42s, stop_timeout: 4s}\n");
  Write("x.yaml", Service("x"));
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.services[0].checks[0].interval, std::chrono::seconds(42));
  EXPECT_EQ(r.config.services[0].stop_timeout, std::chrono::seconds(4));
}

TEST_F(LoaderIncludeTest, GlobMatchingNothingIsFine) {
  std::string main =
      Write("watchd.yaml",
            "include: [none.d/*.yaml, '*.nothing', '/nonexistent/*/x']\n");
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.files, std::vector<std::string>{main});
}

TEST_F(LoaderIncludeTest, MissingPlainFileIsAnError) {
  const std::string text = "include:\n  - missing.yaml\n";
  std::string main = Write("watchd.yaml", text);
  LoadResult r = LoadConfig(main);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(), main + ":2:5: cannot read " +
                                        dir_.File("missing.yaml") +
                                        ": No such file or directory");
}

TEST_F(LoaderIncludeTest, DirectoryMatchedByAGlobIsAnError) {
  std::string main = Write("watchd.yaml", "include: 'conf.d/*'\n");
  Write("conf.d/sub/x.yaml", "");
  LoadResult r = LoadConfig(main);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(), main + ":1:10: cannot read " +
                                        dir_.File("conf.d/sub") +
                                        ": Is a directory");
}

TEST_F(LoaderIncludeTest, CycleIsAnError) {
  std::string a = Write("a.yaml", "include: b.yaml\n" + Service("a"));
  std::string b = Write("b.yaml", "services: {b: {}}\ninclude: [c.yaml]\n");
  std::string c = Write("c.yaml", "include: [./a.yaml]\n");
  LoadResult r = LoadConfig(a);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            c + ":1:11: include cycle: " + a + " -> " + dir_.File("b.yaml") +
                " -> " + dir_.File("c.yaml") + " -> " + dir_.File("./a.yaml"));
  EXPECT_EQ(ServiceNames(r), (std::vector<std::string>{"a", "b"}));
}

TEST_F(LoaderIncludeTest, SelfIncludeIsACycle) {
  std::string a = Write("a.yaml", "include: '*.yaml'\n");
  LoadResult r = LoadConfig(a);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_TRUE(HasError(r, a + ":1:10", "include cycle: " + a + " -> " + a));
}

TEST_F(LoaderIncludeTest, FileIncludedTwiceIsReadOnce) {
  std::string main =
      Write("watchd.yaml", "include: [x.yaml, 'x*.yaml', sub/y.yaml]\n");
  Write("x.yaml", Service("x"));
  Write("sub/y.yaml", "include: ../x.yaml\n");
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(ServiceNames(r), std::vector<std::string>{"x"});
  EXPECT_EQ(r.config.files.size(), 3u);
}

TEST_F(LoaderIncludeTest, SameServiceInTwoFiles) {
  const std::string second = "services:\n  other: {}\n  web: {}\n";
  std::string main = Write("watchd.yaml",
                           "include: [dup.yaml]\n"
                           "supervisors: {s: {type: systemd}}\n"
                           "services:\n"
                           "  web: {}\n");
  std::string dup =
      Write("dup.yaml", second + "supervisors:\n  s: {type: systemd}\n");
  LoadResult r = LoadConfig(main);
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            dup + ":3:3: duplicate service 'web' (first defined at " + main +
                ":4:3)");
  EXPECT_EQ(r.errors[1].ToString(),
            dup + ":5:3: duplicate supervisor 's' (first defined at " + main +
                ":2:15)");
}

TEST_F(LoaderIncludeTest, DaemonAndDefaultsOnlyInTheMainFile) {
  std::string main = Write("watchd.yaml", "include: x.yaml\n");
  std::string x =
      Write("x.yaml", "daemon: {log_level: debug}\ndefaults: {interval: 1s}\n");
  LoadResult r = LoadConfig(main);
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            x + ":1:1: 'daemon' is only allowed in the main file");
  EXPECT_EQ(r.errors[1].ToString(),
            x + ":2:1: 'defaults' is only allowed in the main file");
  EXPECT_EQ(r.config.daemon.log_level, LogLevel::kInfo);
}

TEST_F(LoaderIncludeTest, ErrorsAreSortedByFileThenPlace) {
  std::string main = Write("watchd.yaml",
                           "include: [a.yaml, b.yaml]\n"
                           "services: {m: {supervisor: nope}}\n"
                           "daemon: {log_level: x}\n");
  std::string a = Write("a.yaml", "services: {a: {intervall: 1}}\n");
  std::string b = Write("b.yaml", "services: {b: {depends_on: [zz]}}\n");
  LoadResult r = LoadConfig(main);
  ASSERT_EQ(r.errors.size(), 4u) << AllErrors(r);
  EXPECT_TRUE(r.errors[0].ToString().starts_with(main + ":2:28:"))
      << AllErrors(r);
  EXPECT_TRUE(r.errors[1].ToString().starts_with(main + ":3:21:"))
      << AllErrors(r);
  EXPECT_TRUE(r.errors[2].ToString().starts_with(a + ":1:16:")) << AllErrors(r);
  EXPECT_TRUE(r.errors[3].ToString().starts_with(b + ":1:29:")) << AllErrors(r);
}

TEST_F(LoaderIncludeTest, SyntaxErrorInIncludedFile) {
  std::string main =
      Write("watchd.yaml", "include: x.yaml\nservices: {m: {}}\n");
  std::string x = Write("x.yaml", "services: {x: [}\n");
  LoadResult r = LoadConfig(main);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_TRUE(r.errors[0].ToString().starts_with(x + ":1:")) << AllErrors(r);
  EXPECT_EQ(r.config.services.size(), 1u);
}

TEST_F(LoaderIncludeTest, BadIncludeValues) {
  const std::string text = "include: [1.yaml, '', [x]]\n";
  std::string main = Write("watchd.yaml", text);
  LoadResult r = LoadConfig(main);
  EXPECT_TRUE(HasError(r, Pos(text, "''", 1, main), "must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "[x]", 1, main),
                       "expected a string, found a list"));
  EXPECT_TRUE(HasError(r, Pos(text, "1.yaml", 1, main), "cannot read"));
  EXPECT_EQ(r.errors.size(), 3u) << AllErrors(r);
  r = LoadConfig(Write("w2.yaml", "include: {a: b}\n"));
  EXPECT_TRUE(HasError(r, dir_.File("w2.yaml") + ":1:10",
                       "expected a file pattern or a list of them"));
}

TEST_F(LoaderIncludeTest, WildcardsInTheDirectoryNameAreLiteral) {
  std::string main = Write("we[i]rd*/watchd.yaml", "include: 'c/*.yaml'\n");
  Write("we[i]rd*/c/x.yaml", Service("x"));
  Write("wend*/c/y.yaml", Service("y"));
  LoadResult r = LoadConfig(main);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(ServiceNames(r), std::vector<std::string>{"x"});
}

TEST_F(LoaderIncludeTest, IncludeDepthIsBounded) {
  for (int i = 0; i < 30; ++i) {
    Write("f" + std::to_string(i) + ".yaml",
          "include: f" + std::to_string(i + 1) + ".yaml\n");
  }
  Write("f30.yaml", "");
  LoadResult r = LoadConfig(dir_.File("f0.yaml"));
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(
      r.errors[0].ToString(),
      dir_.File("f16.yaml") + ":1:10: includes nested more than 16 files deep");
}

TEST_F(LoaderIncludeTest, FromStringResolvesAgainstTheGivenName) {
  Write("conf/x.yaml", Service("x"));
  LoadResult r =
      LoadConfigFromString("include: x.yaml\n", dir_.File("conf/main.yaml"));
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(ServiceNames(r), std::vector<std::string>{"x"});
  EXPECT_EQ(r.config.files,
            (std::vector<std::string>{dir_.File("conf/main.yaml"),
                                      dir_.File("conf/x.yaml")}));
}

}  // namespace
}  // namespace watchd
