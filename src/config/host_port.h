// "host:port" as written for listen addresses and DNS servers.
#ifndef WATCHD_CONFIG_HOST_PORT_H_
#define WATCHD_CONFIG_HOST_PORT_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace watchd {

struct HostPort {
  std::string host;  // without brackets: "::1", not "[::1]"
  int port = 0;
};

// Parses "host:port", "[v6addr]:port", and, when default_port is not 0, also
// "host", "[v6addr]" and a bare "v6addr". The port must be 1..65535.
Result<HostPort> ParseHostPort(std::string_view text, int default_port);

// True for a numeric IPv4 or IPv6 address (no brackets, no zone).
bool IsIpAddress(const std::string& host);

}  // namespace watchd

#endif  // WATCHD_CONFIG_HOST_PORT_H_
