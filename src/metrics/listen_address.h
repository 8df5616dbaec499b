// The address /metrics is served on (daemon.metrics_listen), and its
// listening socket.
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

  // "127.0.0.1:9109", "[::1]:9109".
  std::string ToString() const;
};

// Parses "IPv4:PORT", "[IPv6]:PORT" or "localhost:PORT" (127.0.0.1).
// Anything else is refused, host names and a bare port included: a name
// may resolve to an unintended address, and a bare port means every one.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// A non-blocking, close-on-exec TCP socket bound to `address` (with
// SO_REUSEADDR, so a restart need not wait for old connections) and
// listening; the error is the reason alone ("Address already in use").
Result<int> OpenListener(const ListenAddress& address);

}  // namespace watchd

#endif  // WATCHD_METRICS_LISTEN_ADDRESS_H_
