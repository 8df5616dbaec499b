// One entry of `services:`.
#ifndef WATCHD_CONFIG_SERVICE_PARSER_H_
#define WATCHD_CONFIG_SERVICE_PARSER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace watchd {

class NodeReader;
struct ConfigDefaults;

// Service keys that `defaults:` takes too.
inline constexpr std::array<std::string_view, 4> kServiceDefaultKeys = {
    "start_grace", "stop_timeout", "restart_limit", "restart_backoff"};

// Sets service key kServiceDefaultKeys[key] of `service` from `value`.
void ReadServiceDefaultKey(NodeReader& reader, size_t key, uint32_t value,
                           ServiceConfig* service);

// Where a service names a supervisor, other services and notify targets;
// checked once every file is read (validate.h).
struct ServiceRefs {
  SourceLocation supervisor;
  // recover_supervisor_giveup: true, which needs a supervisor with a
  // give-up to clear.
  std::optional<SourceLocation> recover_supervisor_giveup;
  std::vector<SourceLocation> depends_on;  // parallel to the service's
  std::vector<SourceLocation> notify;      // parallel to the service's
};

// The service `name` (its key at `key_node`) from `node`, unset keys taken
// from `defaults`.
ServiceConfig ParseService(NodeReader& reader, const std::string& name,
                           uint32_t key_node, uint32_t node,
                           const ConfigDefaults& defaults, ServiceRefs* refs);

}  // namespace watchd

#endif  // WATCHD_CONFIG_SERVICE_PARSER_H_
