#include "config/include_glob.h"

#include <glob.h>

namespace watchd {
namespace {

bool HasWildcard(const std::string& pattern) {
  return pattern.find_first_of("*?[") != std::string::npos;
}

// The directory is taken literally even if its name holds wildcards.
std::string EscapeForGlob(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> ExpandInclude(const std::string& pattern,
                                               const std::string& base_dir) {
  bool relative = pattern.empty() || pattern[0] != '/';
  std::string prefix = relative && !base_dir.empty() ? base_dir + "/" : "";
  if (!HasWildcard(pattern)) return std::vector<std::string>{prefix + pattern};

  glob_t matches{};
  int rc =
      glob((EscapeForGlob(prefix) + pattern).c_str(), 0, nullptr, &matches);
  std::vector<std::string> paths;
  if (rc == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i)
      paths.emplace_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  if (rc != 0 && rc != GLOB_NOMATCH) {
    return Status::Error("cannot expand include pattern '" + pattern + "'");
  }
  return paths;
}

}  // namespace watchd
