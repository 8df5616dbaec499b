// Test helpers for the metrics server (tests only, header-only): raw HTTP
// exchanges over IPv4 or IPv6, and how many connections wait to be
// accepted.
#ifndef WATCHD_METRICS_SCRAPE_TESTING_H_
#define WATCHD_METRICS_SCRAPE_TESTING_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace watchd::testing {

struct HttpResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// A blocking TCP connection to `host` ("127.0.0.1", "::1") with receive
// and send timeouts; -1 on failure.
inline int ConnectTo(const std::string& host, int port,
                     std::chrono::milliseconds timeout) {
  bool v6 = host.find(':') != std::string::npos;
  int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_storage to{};
  socklen_t length;
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&to);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr);
    length = sizeof(*sin6);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&to);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, host.c_str(), &sin->sin_addr);
    length = sizeof(*sin);
  }
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes; nullopt on an error or timeout.
inline std::optional<std::string> ReadToEnd(int fd) {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) return std::nullopt;
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

inline std::optional<HttpResponse> ParseResponse(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) {
    return std::nullopt;
  }
  HttpResponse response;
  response.status = std::atoi(raw.c_str() + 9);
  response.head = raw.substr(0, end + 2);
  response.body = raw.substr(end + 4);
  return response;
}

// Sends `request` on a new connection and reads the response, to the
// server's close.
inline std::optional<HttpResponse> Exchange(
    int port, std::string_view request, const std::string& host = "127.0.0.1",
    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  int fd = ConnectTo(host, port, timeout);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> raw;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    raw = ReadToEnd(fd);
  }
  close(fd);
  if (!raw) return std::nullopt;
  return ParseResponse(*raw);
}

inline std::optional<HttpResponse> Get(int port, const std::string& path,
                                       const std::string& host = "127.0.0.1") {
  return Exchange(port, "GET " + path + " HTTP/1.1\r\nHost: watchd\r\n\r\n",
                  host);
}

// Connections waiting to be accepted on the socket listening on `port`
// (the rx_queue of a LISTEN socket in /proc/net/tcp and tcp6); -1 when
// none listens there.
inline int AcceptQueueLength(int port) {
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream table(path);
    std::string line;
    std::getline(table, line);  // the column names
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      fields >> slot >> local >> remote >> state >> queues;
      size_t colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos ||
          std::strtol(local.c_str() + colon + 1, nullptr, 16) != port) {
        continue;
      }
      return static_cast<int>(
          std::strtol(queues.c_str() + queues.find(':') + 1, nullptr, 16));
    }
  }
  return -1;
}

}  // namespace watchd::testing

#endif  // WATCHD_METRICS_SCRAPE_TESTING_H_
