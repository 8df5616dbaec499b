// The settings of each probe kind, under its key in a check.
#ifndef WATCHD_CONFIG_PROBE_PARSER_H_
#define WATCHD_CONFIG_PROBE_PARSER_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace watchd {

class NodeReader;

// The probe kinds, in the order of ProbeConfig's alternatives.
inline constexpr std::array<std::string_view, 6> kProbeKinds = {
    "http", "tcp", "dns", "process", "memory", "exec"};
static_assert(kProbeKinds.size() == std::variant_size_v<ProbeConfig>);

// Largest accepted http max_body: probes hold the body in memory.
inline constexpr uint64_t kMaxHttpBody = uint64_t{64} << 20;

// Reads the settings of probe kind kProbeKinds[kind] from `node`.
ProbeConfig ParseProbe(NodeReader& reader, size_t kind, uint32_t node);

// Empty when `url` is a usable http(s) URL, else why not.
std::string HttpUrlProblem(std::string_view url);

// A map of HTTP header name -> value: names are tokens, values have no
// line breaks.
void ReadHeaders(NodeReader& reader, uint32_t node,
                 std::vector<std::pair<std::string, std::string>>* headers);

}  // namespace watchd

#endif  // WATCHD_CONFIG_PROBE_PARSER_H_
