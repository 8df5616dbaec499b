#include "config/host_port.h"

#include <arpa/inet.h>

#include <charconv>

namespace watchd {
namespace {

Status Invalid(std::string_view text, const std::string& why) {
  return Status::Error("invalid address '" + std::string(text) + "': " + why);
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text, int default_port) {
  HostPort out;
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Invalid(text, "missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Invalid(text, "expected ':' after ']'");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = text.rfind(':');
    bool bare_v6 = colon != std::string_view::npos &&
                   text.find(':') != colon;  // two or more colons
    if (colon == std::string_view::npos || (bare_v6 && default_port != 0)) {
      out.host = std::string(text);
    } else if (bare_v6) {
      return Invalid(text, "write an IPv6 address with a port as [addr]:port");
    } else {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) return Invalid(text, "missing host");
  if (!has_port) {
    if (default_port == 0) return Invalid(text, "missing port (host:port)");
    out.port = default_port;
    return out;
  }
  int port = 0;
  auto [end, ec] = std::from_chars(port_text.data(),
                                   port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return Invalid(text, "port must be a number from 1 to 65535");
  }
  out.port = port;
  return out;
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace watchd
