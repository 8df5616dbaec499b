// Which files an `include:` entry names.
#ifndef WATCHD_CONFIG_INCLUDE_GLOB_H_
#define WATCHD_CONFIG_INCLUDE_GLOB_H_

#include <string>
#include <vector>

#include "core/status.h"

namespace watchd {

// `pattern` taken relative to `base_dir` (the including file's directory,
// "" for the working directory) unless absolute. With a wildcard (* ? [) it
// names the matching paths, sorted, maybe none; without, the one path,
// whether it exists or not (a missing file is then an error to report).
Result<std::vector<std::string>> ExpandInclude(const std::string& pattern,
                                               const std::string& base_dir);

}  // namespace watchd

#endif  // WATCHD_CONFIG_INCLUDE_GLOB_H_
