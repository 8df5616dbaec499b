// Faults at watchd's own /metrics endpoint: clients that stall, and a port
// that is taken. See docs/reliability.md, "Fault matrix".
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/http_server.h"
#include "tests/support/net.h"
#include "tests/support/on_schedule.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A connection to 127.0.0.1:port whose receive buffer is as small as the
// kernel allows, so that a server writing to it stalls within a few KiB.
int Connect(int port, bool tiny_buffer) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (tiny_buffer) {
    int size = 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Connections watchd holds open on its side of `port`: established, or
// closed by the client and not yet by watchd (CLOSE_WAIT).
int HeldConnections(int port) {
  int count = 0;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream table(path);
    std::string line;
    std::getline(table, line);  // the column names
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      size_t colon = local.rfind(':');
      if (colon != std::string::npos &&
          std::strtol(local.c_str() + colon + 1, nullptr, 16) == port &&
          (state == "01" || state == "08")) {
        ++count;
      }
    }
  }
  return count;
}

// A service of `count` http checks on `server`, every 5 s: enough
// series for an exposition far larger than a stalled client's buffers.
std::string ManyChecks(const HttpServer& server, int count) {
  std::string yaml = "  many:\n    checks:\n";
  for (int i = 0; i < count; ++i) {
    yaml += "      c" + std::to_string(i) + ":\n        http: {url: \"" +
            server.Url("/ok") + "\"}\n        interval: 5s\n";
  }
  return yaml;
}

// A dozen clients stall /metrics: half send a request that never ends, half
// ask and never read. Scrapes beside them are answered within a normal
// scrape timeout (each stalled client used to hold one of the four workers
// for 10 s), the loop stays on schedule, and once the clients leave no
// descriptor is left behind.
TEST(MetricsEndpointFault, StalledClientsDoNotHoldUpAScrape) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  WatchdProcess watchd(SentinelService(server) + ManyChecks(server, 600));
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  int status = 0;
  // Once every check has run: larger than what the kernel buffers for a
  // client that does not read.
  ASSERT_TRUE(WaitFor([&] { return watchd.ScrapeText().size() > 300u * 1024; },
                      seconds(60), milliseconds(500)))
      << watchd.ScrapeText().size() << " bytes";

  std::vector<int> stalled;
  for (int i = 0; i < 12; ++i) {
    bool reads_nothing = i % 2 == 1;
    int fd = Connect(watchd.metrics_port(), reads_nothing);
    ASSERT_GE(fd, 0);
    std::string request = reads_nothing
                              ? "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                              : "GET /metrics HTTP/1.1\r\nHost: x\r\n";
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    stalled.push_back(fd);
  }
  for (int i = 0; i < 5; ++i) {
    // Prometheus' default scrape timeout is 10 s; half of it here.
    std::optional<std::string> text =
        HttpGet(watchd.metrics_port(), "/metrics", &status, seconds(5));
    ASSERT_TRUE(text.has_value()) << "scrape " << i << " failed";
    EXPECT_EQ(status, 200);
    EXPECT_NE(text->find("watchd_probes_total{"), std::string::npos);
  }
  EXPECT_TRUE(StillOnSchedule(watchd));

  for (int fd : stalled) close(fd);
  const int port = watchd.metrics_port();
  EXPECT_TRUE(WaitFor([&] { return HeldConnections(port) == 0; }, seconds(30)))
      << HeldConnections(port) << " connections still held";
  EXPECT_TRUE(StillOnSchedule(watchd));
}

// A metrics port another program listens on: watchd does not start, and
// says why and where.
TEST(MetricsEndpointFault, APortTakenStopsTheStartWithAClearError) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  WatchdProcess watchd(
      SentinelService(server), "",
      "  metrics_listen: 127.0.0.1:" + std::to_string(server.port()) + "\n");

  Subprocess process;
  ASSERT_TRUE(process.Start({WatchdBinary(), "-c", watchd.config_path()},
                            watchd.log_path()));
  std::optional<int> exit = process.Wait(seconds(20));
  ASSERT_TRUE(exit.has_value()) << "watchd did not exit";
  ASSERT_TRUE(WIFEXITED(*exit));
  EXPECT_NE(WEXITSTATUS(*exit), 0);
  std::string log = watchd.Log();
  EXPECT_NE(log.find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("Address already in use"), std::string::npos) << log;
}

}  // namespace
}  // namespace watchd::testing
