// One check of a service: a probe plus when to run it and how to judge it.
#ifndef WATCHD_CONFIG_CHECK_PARSER_H_
#define WATCHD_CONFIG_CHECK_PARSER_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

namespace watchd {

class NodeReader;

// The keys every check takes besides its probe; `defaults:` takes them too.
inline constexpr std::array<std::string_view, 6> kCheckKeys = {
    "interval", "timeout", "jitter", "failures", "successes", "on_failure"};

// Sets check key kCheckKeys[key] of `check` from `value`.
void ReadCheckKey(NodeReader& reader, size_t key, uint32_t value,
                  CheckConfig* check);

// Reports at `where` a timeout longer than the interval: runs would overlap.
void CheckTimeoutFitsInterval(NodeReader& reader, const CheckConfig& check,
                              uint32_t where);

// The check `name` (its key at `key_node`) from `node`: exactly one probe
// key plus check keys, the others taken from `defaults`. An explicit
// `on_failure: restart` needs a `supervised` service; one inherited from
// defaults falls back to alert on a service without a supervisor.
CheckConfig ParseCheck(NodeReader& reader, const std::string& name,
                       uint32_t key_node, uint32_t node,
                       const CheckConfig& defaults, bool supervised);

}  // namespace watchd

#endif  // WATCHD_CONFIG_CHECK_PARSER_H_
