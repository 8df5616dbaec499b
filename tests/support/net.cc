#include "tests/support/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tests/support/wait.h"

namespace watchd::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

namespace {

// A port the kernel just handed out for `type`, or -1.
int BindAny(int type) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  sockaddr_in addr = Loopback(0);
  int port = -1;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool Bindable(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

int FreePort(bool udp) {
  if (!udp) return BindAny(SOCK_STREAM);
  // DNS servers (dnsmasq) bind TCP on their UDP port too: find one free
  // for both, a few tries at most.
  int port = -1;
  for (int i = 0; i < 20; ++i) {
    port = BindAny(SOCK_DGRAM);
    if (port > 0 && Bindable(SOCK_STREAM, port)) return port;
  }
  return port;
}

bool WaitForPort(int port, std::chrono::milliseconds timeout) {
  return WaitFor(
      [port] {
        // Non-blocking, so a listener that never accepts cannot hang us.
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        sockaddr_in addr = Loopback(port);
        bool ok = false;
        if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) ==
            0) {
          ok = true;
        } else if (errno == EINPROGRESS) {
          pollfd p{fd, POLLOUT, 0};
          int err = 0;
          socklen_t len = sizeof(err);
          ok = poll(&p, 1, 200) == 1 &&
               getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
               err == 0;
        }
        close(fd);
        return ok;
      },
      timeout, std::chrono::milliseconds(20));
}

std::optional<std::string> HttpGet(int port, const std::string& path,
                                   int* status,
                                   std::chrono::milliseconds timeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::nullopt;
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr = Loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  std::string req = "GET " + path +
                    " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(req.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t sp = resp.find(' ');
  if (sp == std::string::npos) return std::nullopt;
  if (status) *status = atoi(resp.c_str() + sp + 1);
  size_t body = resp.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return resp.substr(body + 4);
}

}  // namespace watchd::testing
