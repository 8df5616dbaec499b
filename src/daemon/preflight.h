// Checks of a loaded configuration against this machine, beyond what the
// file itself says: commands that do not exist or cannot be executed.
#ifndef WATCHD_DAEMON_PREFLIGHT_H_
#define WATCHD_DAEMON_PREFLIGHT_H_

#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace watchd {

// Every problem found, located at the check or supervisor that names it.
std::vector<ConfigError> Preflight(const Config& config);

}  // namespace watchd

#endif  // WATCHD_DAEMON_PREFLIGHT_H_
