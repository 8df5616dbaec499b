#include "net/http_exchange.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "net/http_response_parser.h"
#include "net/socket_pool.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Ended {
  HttpExchange::End end;
  std::string reason;
};

class HttpExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  void StartServer() {
    port_ = testing::FreePort();
    ASSERT_TRUE(
        testing::StartTestServer(&server_, "tests/servers/http_server.py",
                                 {"--port", std::to_string(port_)},
                                 dir_.File("ready"), dir_.File("server.log")))
        << testing::ReadFile(dir_.File("server.log"));
  }

  static SocketAddress Address(const std::string& ip, int port) {
    SocketAddress a;
    EXPECT_TRUE(a.Set(ip, port)) << ip;
    return a;
  }

  static std::string Get(const std::string& path) {
    return "GET " + path +
           " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";
  }

  // Runs one exchange to its end (at most 20 s).
  Ended Exchange(const std::vector<SocketAddress>& to,
                 const std::string& request, HttpResponseParser* parser) {
    std::optional<Ended> ended;
    exchange_.Start(to.data(), to.size(), request, parser,
                    [&](HttpExchange::End end, std::string reason) {
                      ended = Ended{end, std::move(reason)};
                    });
    TimePoint deadline = loop_.Now() + seconds(20);
    while (!ended && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    EXPECT_TRUE(ended.has_value()) << "exchange did not end";
    EXPECT_FALSE(exchange_.busy());
    return ended.value_or(Ended{HttpExchange::End::kLocal, "did not end"});
  }

  EventLoop loop_;
  SocketPool sockets_;
  HttpExchange exchange_{&loop_, &sockets_};
  testing::TempDir dir_;
  testing::Subprocess server_;
  int port_ = 0;
};

TEST(SocketAddressTest, ParsesLiteralsOnly) {
  SocketAddress a;
  EXPECT_TRUE(a.Set("127.0.0.1", 80));
  EXPECT_EQ(a.storage.any.sa_family, AF_INET);
  EXPECT_TRUE(a.Set("::1", 80));
  EXPECT_EQ(a.storage.any.sa_family, AF_INET6);
  EXPECT_FALSE(a.Set("localhost", 80));
  EXPECT_FALSE(a.Set("[::1]", 80));
}

TEST_F(HttpExchangeTest, ReadsAResponse) {
  StartServer();
  HttpResponseParser parser(false, 1 << 20, true);
  Ended e =
      Exchange({Address("127.0.0.1", port_)}, Get("/status/503"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kResponse) << e.reason;
  EXPECT_EQ(parser.state(), HttpResponseParser::State::kDone);
  EXPECT_EQ(parser.status(), 503);
  EXPECT_EQ(parser.body(), "status 503");
  // The exchange is reusable.
  HttpResponseParser again(false, 1 << 20, true);
  e = Exchange({Address("127.0.0.1", port_)}, Get("/ok"), &again);
  EXPECT_EQ(again.status(), 200);
}

// After a response the socket goes back to the pool and serves the next
// exchange; one that failed is closed instead.
TEST_F(HttpExchangeTest, SocketIsReusedAfterAResponseOnly) {
  StartServer();
  for (int i = 0; i < 3; ++i) {
    HttpResponseParser parser(false, 1 << 20, true);
    Ended e = Exchange({Address("127.0.0.1", port_)}, Get("/ok"), &parser);
    EXPECT_EQ(e.end, HttpExchange::End::kResponse) << e.reason;
    EXPECT_EQ(parser.status(), 200) << "exchange " << i;
    EXPECT_EQ(sockets_.size(), 1u) << "exchange " << i;
  }
  HttpResponseParser refused(false, 1 << 20, false);
  Ended e =
      Exchange({Address("127.0.0.1", testing::FreePort())}, Get("/"), &refused);
  EXPECT_EQ(e.reason, "connection refused");
  EXPECT_EQ(sockets_.size(), 0u);
}

TEST_F(HttpExchangeTest, ClosedPortIsRefused) {
  int closed = testing::FreePort();
  HttpResponseParser parser(false, 1 << 20, false);
  Ended e = Exchange({Address("127.0.0.1", closed)}, Get("/"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kRemote);
  EXPECT_EQ(e.reason, "connection refused");
}

TEST_F(HttpExchangeTest, TriesTheNextAddressWhenOneRefuses) {
  StartServer();
  int closed = testing::FreePort();
  HttpResponseParser parser(false, 1 << 20, false);
  Ended e =
      Exchange({Address("127.0.0.1", closed), Address("127.0.0.1", port_)},
               Get("/ok"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kResponse) << e.reason;
  EXPECT_EQ(parser.status(), 200);
}

TEST_F(HttpExchangeTest, NoAddressIsALocalError) {
  HttpResponseParser parser(false, 1 << 20, false);
  Ended e = Exchange({}, Get("/"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kLocal);
  EXPECT_EQ(e.reason, "no address to connect to");
}

TEST_F(HttpExchangeTest, ServerClosingWithoutAnswerIsAnEmptyReply) {
  StartServer();
  HttpResponseParser parser(false, 1 << 20, false);
  Ended e = Exchange({Address("127.0.0.1", port_)}, Get("/close"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kResponse);
  EXPECT_EQ(parser.state(), HttpResponseParser::State::kError);
  EXPECT_EQ(parser.error(), "empty reply");
}

TEST_F(HttpExchangeTest, HangingServerKeepsTheExchangeUntilCancelled) {
  StartServer();
  HttpResponseParser parser(false, 1 << 20, false);
  std::vector<SocketAddress> to = {Address("127.0.0.1", port_)};
  std::string request = Get("/hang");
  bool ended = false;
  exchange_.Start(to.data(), to.size(), request, &parser,
                  [&](HttpExchange::End, std::string) { ended = true; });
  // The request is sent once connected; then the wait is for the answer.
  TimePoint deadline = loop_.Now() + seconds(20);
  while (std::string(exchange_.Phase()) != "waiting for response" &&
         loop_.Now() < deadline) {
    loop_.RunOnce(milliseconds(50));
  }
  EXPECT_STREQ(exchange_.Phase(), "waiting for response");
  EXPECT_TRUE(exchange_.busy());
  exchange_.Cancel();
  EXPECT_FALSE(exchange_.busy());
  EXPECT_EQ(sockets_.size(), 0u) << "a cancelled connection is closed";
  for (int i = 0; i < 5; ++i) loop_.RunOnce(milliseconds(20));
  EXPECT_FALSE(ended);
}

TEST_F(HttpExchangeTest, LargeBodyIsCutAtTheBound) {
  StartServer();
  HttpResponseParser parser(false, 100 * 1024, true);
  Ended e = Exchange({Address("127.0.0.1", port_)}, Get("/big"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kResponse) << e.reason;
  EXPECT_EQ(parser.state(), HttpResponseParser::State::kTruncated);
  EXPECT_EQ(parser.body().size(), 100u * 1024);
}

TEST_F(HttpExchangeTest, Ipv6Loopback) {
  int port = testing::FreePort();
  ASSERT_TRUE(testing::StartTestServer(
      &server_, "tests/servers/http_server.py",
      {"--port", std::to_string(port), "--host", "::1"}, dir_.File("ready6"),
      dir_.File("server6.log")))
      << testing::ReadFile(dir_.File("server6.log"));
  HttpResponseParser parser(false, 1 << 20, true);
  Ended e = Exchange({Address("::1", port)}, Get("/ok"), &parser);
  EXPECT_EQ(e.end, HttpExchange::End::kResponse) << e.reason;
  EXPECT_EQ(parser.status(), 200);
  EXPECT_EQ(sockets_.Take(AF_INET), -1);
  int fd = sockets_.Take(AF_INET6);
  EXPECT_GE(fd, 0) << "an IPv6 socket is kept for IPv6";
  if (fd >= 0) close(fd);
}

// `done` is the exchange's last act: from inside it the exchange may be
// cancelled (a no-op then), started again or destroyed, also when it ends
// before Start returns (no address).
TEST_F(HttpExchangeTest, DoneMayRestartCancelOrDestroyTheExchange) {
  StartServer();
  const std::string request = Get("/ok");
  for (const std::vector<SocketAddress>& to :
       {std::vector<SocketAddress>{Address("127.0.0.1", port_)},
        std::vector<SocketAddress>{}}) {
    auto exchange = std::make_unique<HttpExchange>(&loop_, &sockets_);
    std::vector<std::unique_ptr<HttpResponseParser>> parsers;
    std::vector<Ended> ends;
    std::function<void(HttpExchange::End, std::string)> done =
        [&](HttpExchange::End end, std::string reason) {
          ends.push_back(Ended{end, std::move(reason)});
          exchange->Cancel();
          if (ends.size() == 3) {
            exchange.reset();
            return;
          }
          parsers.push_back(
              std::make_unique<HttpResponseParser>(false, 1 << 20, false));
          exchange->Start(to.data(), to.size(), request, parsers.back().get(),
                          done);
        };
    parsers.push_back(
        std::make_unique<HttpResponseParser>(false, 1 << 20, false));
    exchange->Start(to.data(), to.size(), request, parsers.back().get(), done);
    const TimePoint deadline = loop_.Now() + seconds(20);
    while (exchange != nullptr && loop_.Now() < deadline) {
      loop_.RunOnce(milliseconds(50));
    }
    ASSERT_EQ(exchange, nullptr);
    ASSERT_EQ(ends.size(), 3u);
    for (size_t i = 0; i < ends.size(); ++i) {
      if (to.empty()) {
        EXPECT_EQ(ends[i].reason, "no address to connect to");
      } else {
        EXPECT_EQ(ends[i].end, HttpExchange::End::kResponse) << ends[i].reason;
        EXPECT_EQ(parsers[i]->status(), 200);
      }
    }
  }
}

}  // namespace
}  // namespace watchd
