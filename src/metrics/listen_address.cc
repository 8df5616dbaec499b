#include "metrics/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace watchd {
namespace {

// Scrapers beyond the server's workers wait here.
constexpr int kBacklog = 64;

Status Invalid(std::string_view text, const std::string& why) {
  return Status::Error("metrics listen address \"" + std::string(text) +
                       "\": " + why);
}

// A decimal port 0..65535, or -1.
int ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return -1;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : -1;
}

}  // namespace

std::string ListenAddress::ToString() const {
  std::string port_text = std::to_string(port);
  return ipv6 ? "[" + host + "]:" + port_text : host + ":" + port_text;
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return Invalid(text, "expected HOST:PORT");
  }
  ListenAddress address;
  address.port = ParsePort(text.substr(colon + 1));
  if (address.port < 0) {
    return Invalid(text, "the port must be a number from 0 to 65535");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    address.ipv6 = true;
  }
  address.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(address.ipv6 ? AF_INET6 : AF_INET, address.host.c_str(), buf) !=
      1) {
    return Invalid(text,
                   "the host must be an IPv4 address, an IPv6 address in "
                   "brackets, or localhost");
  }
  return address;
}

Result<int> OpenListener(const ListenAddress& address) {
  sockaddr_storage storage{};
  socklen_t length;
  if (address.ipv6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &sin6->sin6_addr);
    length = sizeof(*sin6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET, address.host.c_str(), &sin->sin_addr);
    length = sizeof(*sin);
  }
  int fd =
      socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Error(std::strerror(errno));
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      listen(fd, kBacklog) != 0) {
    Status error = Status::Error(std::strerror(errno));
    close(fd);
    return error;
  }
  return fd;
}

}  // namespace watchd
