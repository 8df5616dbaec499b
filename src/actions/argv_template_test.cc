#include "actions/argv_template.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

using Args = std::vector<std::string>;

const std::map<std::string, std::string> kVars = {
    {"program", "web"}, {"service", "web-svc"}, {"pid", "4242"}};

TEST(SubstituteArgsTest, ReplacesWholeArguments) {
  EXPECT_EQ(SubstituteArgs(
                {"/usr/bin/bounce", "{program}", "--pid", "{pid}", "{service}"},
                kVars),
            (Args{"/usr/bin/bounce", "web", "--pid", "4242", "web-svc"}));
}

TEST(SubstituteArgsTest, LeavesPartialPlaceholdersLiteral) {
  EXPECT_EQ(SubstituteArgs({"x{pid}", "{pid}.log", "{program}{pid}",
                            "--name={service}", " {pid}"},
                           kVars),
            (Args{"x{pid}", "{pid}.log", "{program}{pid}", "--name={service}",
                  " {pid}"}));
}

TEST(SubstituteArgsTest, LeavesUnknownAndDegenerateLiteral) {
  EXPECT_EQ(SubstituteArgs({"{unknown}", "{}", "{", "}", "", "{PID}"}, kVars),
            (Args{"{unknown}", "{}", "{", "}", "", "{PID}"}));
}

TEST(SubstituteArgsTest, ValuesAreNeverReinterpreted) {
  // A value with spaces or braces stays one argument and is not expanded.
  std::map<std::string, std::string> vars = {
      {"program", "a b; rm -rf /"}, {"service", "{pid}"}, {"pid", ""}};
  EXPECT_EQ(SubstituteArgs({"{program}", "{service}", "{pid}"}, vars),
            (Args{"a b; rm -rf /", "{pid}", ""}));
}

TEST(SubstituteArgsTest, EmptyTemplate) {
  EXPECT_TRUE(SubstituteArgs({}, kVars).empty());
}

}  // namespace
}  // namespace watchd
