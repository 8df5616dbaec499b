#include "net/socket_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <cctype>

namespace watchd {

bool SocketAddress::Set(const std::string& ip, int port) {
  storage = {};
  if (inet_pton(AF_INET, ip.c_str(), &storage.v4.sin_addr) == 1) {
    storage.v4.sin_family = AF_INET;
    storage.v4.sin_port = htons(static_cast<uint16_t>(port));
    length = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), &storage.v6.sin6_addr) == 1) {
    storage.v6.sin6_family = AF_INET6;
    storage.v6.sin6_port = htons(static_cast<uint16_t>(port));
    length = sizeof(sockaddr_in6);
    return true;
  }
  length = 0;
  return false;
}

std::string SocketErrorReason(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "connection refused";
    case ECONNRESET:
      return "connection reset";
    case ETIMEDOUT:
      return "connection timed out";
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    case EPIPE:
      return "connection closed by peer";
    case EMFILE:
    case ENFILE:
      return "out of file descriptors";
    case EADDRNOTAVAIL:
      return "no free local port";
    default: {
      std::string text = strerror(err);
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(text[0]));
      return text;
    }
  }
}

}  // namespace watchd
