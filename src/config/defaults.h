// `defaults:`: values for keys that checks and services leave unset.
#ifndef WATCHD_CONFIG_DEFAULTS_H_
#define WATCHD_CONFIG_DEFAULTS_H_

#include <cstdint>

#include "config/config.h"

namespace watchd {

class NodeReader;

// Templates that every check and every service starts from.
struct ConfigDefaults {
  CheckConfig
      check;  // interval, timeout, jitter, failures, successes, on_failure
  ServiceConfig service;  // start_grace, stop_timeout, restart_limit,
                          // restart_backoff
};

// Reads `defaults:`: any check key, and the service keys start_grace,
// stop_timeout, restart_limit and restart_backoff.
ConfigDefaults ParseDefaults(NodeReader& reader, uint32_t node);

}  // namespace watchd

#endif  // WATCHD_CONFIG_DEFAULTS_H_
