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

struct LoadOptions {
  // Whether argv[0] of every command must be runnable here (an executable
  // file, or a name found on PATH): what the daemon and --check-config
  // need. Tests of what a file says, whatever the machine, turn it off.
  bool check_commands = true;
  // Whether every file read must be one that only root or this process's
  // user could have changed (see UntrustedConfig): what the daemon and
  // --check-config need.
  bool check_trust = true;
};

// Never throws and never crashes on hostile input (huge files, deep nesting,
// alias bombs): such input is an error.
LoadResult LoadConfig(const std::string& path, const LoadOptions& options = {});

// As LoadConfig, from text named `file_name` in errors; includes resolve
// relative to the directory of file_name.
LoadResult LoadConfigFromString(const std::string& text,
                                const std::string& file_name,
                                const LoadOptions& options = {});

}  // namespace watchd

#endif  // WATCHD_CONFIG_LOADER_H_
