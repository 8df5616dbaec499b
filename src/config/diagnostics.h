// The errors of one LoadConfig run, and the budget of YAML nodes it may
// visit: aliases let a small file reach the same nodes many times over.
#ifndef WATCHD_CONFIG_DIAGNOSTICS_H_
#define WATCHD_CONFIG_DIAGNOSTICS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "config/loader.h"

namespace watchd {

class Diagnostics {
 public:
  // Kept messages; past this a run on hostile input stops collecting them.
  static constexpr size_t kMaxErrors = 1000;
  // Visits allowed per node parsed, plus a floor: a file without aliases
  // visits each node once or twice, and aliases may repeat some, not
  // multiply the file a thousandfold.
  static constexpr size_t kVisitsPerNode = 4;
  static constexpr size_t kVisitFloor = 100'000;

  void Error(SourceLocation location, std::string message);

  // Grows the budget for a file of `nodes` nodes.
  void AllowVisits(size_t nodes) { visits_left_ += kVisitsPerNode * nodes; }
  // Charges one node; false once the budget is spent, reported once at
  // where() (a callable: the place is only needed then). Callers then stop,
  // and later errors are dropped: a half-read file has spurious ones.
  template <typename Where>
  bool Visit(Where where) {
    if (visits_left_ > 0) {
      --visits_left_;
      return true;
    }
    if (!spent_) {
      Error(where(),
            "configuration too large once its aliases are expanded; stopped "
            "reading here");
      spent_ = true;
    }
    return false;
  }

  // The errors ordered by file (in `files` order), line and column, plus a
  // last one counting those beyond kMaxErrors.
  std::vector<ConfigError> Take(const std::vector<std::string>& files);

 private:
  std::vector<ConfigError> errors_;
  size_t total_errors_ = 0;
  size_t visits_left_ = kVisitFloor;
  bool spent_ = false;
};

}  // namespace watchd

#endif  // WATCHD_CONFIG_DIAGNOSTICS_H_
