// A regex searcher whose time is linear in the text and whose stack does not
// grow with it (a Thompson NFA run as a Pike VM), for patterns from the
// config applied to bytes from the network. libstdc++'s std::regex recurses
// once per character (".*x" over 16 KiB overflows an 8 MiB stack) and its
// breadth-first mode is quadratic (seconds over 16 KiB), either of which
// would take the event loop down. Here a search costs at most text length
// times program size (capped at 2000 steps: {n,m} counts are copies).
// Syntax: ECMAScript without back-references and lookaround; ^ and $ match
// at the ends of the text, "." at any byte but \r and \n.
#ifndef WATCHD_CORE_EXPECT_REGEX_H_
#define WATCHD_CORE_EXPECT_REGEX_H_

#include <bitset>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace watchd {

class ExpectRegex {
 public:
  // An error names what is wrong: "unbalanced ')'", "back-references are
  // not supported", ...
  static Result<ExpectRegex> Compile(const std::string& pattern);

  // True when the pattern matches somewhere in `text` (bytes).
  bool Search(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  enum class Op {
    kByte,
    kClass,
    kSplit,
    kJump,
    kBol,
    kEol,
    kWord,
    kNotWord,
    kMatch
  };
  struct Inst {
    Op op;
    int arg = 0;   // the byte, the class index or the first branch
    int arg2 = 0;  // the second branch of a split
  };
  class Parser;

  std::string pattern_;
  std::vector<Inst> program_;
  std::vector<std::bitset<256>> classes_;
};

}  // namespace watchd

#endif  // WATCHD_CORE_EXPECT_REGEX_H_
