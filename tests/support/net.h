// Loopback helpers for tests: free ports, readiness, tiny HTTP GETs.
#ifndef WATCHD_TESTS_SUPPORT_NET_H_
#define WATCHD_TESTS_SUPPORT_NET_H_

#include <chrono>
#include <optional>
#include <string>

namespace watchd::testing {

// A TCP port on 127.0.0.1 that was free a moment ago; with `udp`, a port
// free for both UDP and TCP (as DNS servers bind both).
int FreePort(bool udp = false);
// True once something accepts TCP connections on 127.0.0.1:port.
bool WaitForPort(int port, std::chrono::milliseconds timeout);
// Blocking GET of http://127.0.0.1:port/path (tests only); the whole
// response body, or nullopt on any error. Status code into *status.
std::optional<std::string> HttpGet(
    int port, const std::string& path, int* status = nullptr,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_NET_H_
