// Reads watchd.yaml and its includes into a Config, collecting every error
// in one pass as FILE:LINE:COL: message.
#ifndef WATCHD_CONFIG_LOADER_H_
#define WATCHD_CONFIG_LOADER_H_

#include <string>
#include <vector>

#include "config/config.h"

namespace watchd {

struct ConfigError {
  SourceLocation location;
  std::string message;
  // "FILE:LINE:COL: message"
  std::string ToString() const;
};

struct LoadResult {
  Config config;  // complete only when errors is empty
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Never throws and never crashes on hostile input (huge files, deep nesting,
// alias bombs): such input is an error.
LoadResult LoadConfig(const std::string& path);

// As LoadConfig, from text named `file_name` in errors; includes resolve
// relative to the directory of file_name.
LoadResult LoadConfigFromString(const std::string& text,
                                const std::string& file_name);

}  // namespace watchd

#endif  // WATCHD_CONFIG_LOADER_H_
