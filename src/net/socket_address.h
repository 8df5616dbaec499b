// An IPv4 or IPv6 address and port for connect(), and the short words
// watchd's probes use for socket errors.
#ifndef WATCHD_NET_SOCKET_ADDRESS_H_
#define WATCHD_NET_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace watchd {

struct SocketAddress {
  // Not sockaddr_storage (128 bytes): a probe keeps one per address.
  union {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } storage{};
  socklen_t length = 0;

  // From an IPv4 or IPv6 literal (no brackets); false when it is neither.
  bool Set(const std::string& ip, int port);
  int family() const { return storage.any.sa_family; }
};

// "connection refused", "host unreachable", "out of file descriptors"...;
// otherwise strerror's text, lower-cased.
std::string SocketErrorReason(int err);

}  // namespace watchd

#endif  // WATCHD_NET_SOCKET_ADDRESS_H_
