// The address /metrics is served on (daemon.metrics_listen).
#ifndef WATCHD_METRICS_LISTEN_ADDRESS_H_
#define WATCHD_METRICS_LISTEN_ADDRESS_H_

#include <string>
#include <string_view>

#include "core/status.h"

namespace watchd {

struct ListenAddress {
  std::string host;  // an IP address literal, without brackets
  bool ipv6 = false;
  int port = 0;  // 0: any free port

  // civetweb's listening_ports syntax: "127.0.0.1:9109", "[::1]:9109".
  std::string ToCivetweb() const;
};

// Parses "IPv4:PORT", "[IPv6]:PORT" or "localhost:PORT" (127.0.0.1).
// Anything else is refused, host names and a bare port included: civetweb
// would bind those to an unintended address (a bare port to every one).
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Binds a TCP socket to `address` as civetweb does (SO_REUSEADDR), then
// closes it: the reason a bind fails, to explain why civetweb's did.
Status CheckBindable(const ListenAddress& address);

}  // namespace watchd

#endif  // WATCHD_METRICS_LISTEN_ADDRESS_H_
