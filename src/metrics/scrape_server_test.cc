#include "metrics/scrape_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.h"
#include "gtest/gtest.h"
#include "metrics/listen_address.h"
#include "metrics/scrape_testing.h"
#include "metrics/text_writer.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Exchange;
using testing::Get;
using testing::HttpResponse;

// Samples written by a scrape when asked for a big one: about 60 MiB, far
// more than socket buffers hold.
constexpr int kBigSamples = 1 << 20;
// A prompt stop: well short of the 10 s timeouts a worker would otherwise
// wait out. Not shorter: the workers run 10 nice levels down, and on a
// busy 2-core machine (an ASan build beside other builds) they get ~2% of
// a core, so waking and joining them took up to 1.7 s there.
constexpr auto kPrompt = std::chrono::seconds(5);

class ScrapeServerTest : public ::testing::Test {
 protected:
  // Each scrape writes `samples` samples of family "t", or kBigSamples
  // once after next_big_ is set.
  void StartServer(const ScrapeServerOptions& options,
                   const std::string& listen = "127.0.0.1:0",
                   ScrapeServer::AskPage ask_page = nullptr) {
    Result<int> fd = OpenListener(*ParseListenAddress(listen));
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    auto server = ScrapeServer::Start(
        *fd,
        [this](TextWriter& w) {
          scrapes_started_++;
          int samples =
              next_big_.exchange(false) ? kBigSamples : samples_.load();
          w.Family("t", "A test family.", MetricType::kGauge);
          for (int i = 0; i < samples && w.ok(); ++i) {
            w.Sample({{"i", "a fairly long label value to fill buffers"}},
                     static_cast<double>(i));
          }
          if (!w.ok()) writes_refused_++;
        },
        options, std::move(ask_page));
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    port_ = server_->port();
  }

  std::string Body(int samples) {
    std::string text;
    TextWriter w([&](std::string_view piece) {
      text.append(piece);
      return true;
    });
    w.Family("t", "A test family.", MetricType::kGauge);
    for (int i = 0; i < samples; ++i) {
      w.Sample({{"i", "a fairly long label value to fill buffers"}},
               static_cast<double>(i));
    }
    w.Flush();
    return text;
  }

  // A connection that sends `request` (maybe nothing) and reads nothing.
  int Idle(const std::string& request = "") {
    int fd = testing::ConnectTo("127.0.0.1", port_, seconds(30));
    EXPECT_GE(fd, 0);
    if (!request.empty()) {
      EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(request.size()));
    }
    return fd;
  }

  // Waits until the server has accepted every connection made so far.
  void WaitAccepted() {
    EXPECT_TRUE(testing::WaitFor(
        [&] { return testing::AcceptQueueLength(port_) == 0; }, seconds(30)));
  }

  std::atomic<int> samples_{3};
  std::atomic<bool> next_big_{false};
  std::atomic<int> scrapes_started_{0};
  std::atomic<int> writes_refused_{0};
  std::unique_ptr<ScrapeServer> server_;
  int port_ = 0;
};

TEST_F(ScrapeServerTest, ServesMetricsStreamedUntilClose) {
  StartServer(ScrapeServerOptions());
  std::optional<HttpResponse> r = Get(port_, "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("\r\nContent-Type: text/plain; version=0.0.4; "
                         "charset=utf-8\r\n"),
            std::string::npos)
      << r->head;
  EXPECT_NE(r->head.find("\r\nConnection: close\r\n"), std::string::npos);
  EXPECT_EQ(r->body, Body(3));

  // Far more than the buffer: it all arrives, in order.
  samples_ = 200000;
  r = Exchange(port_, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), Body(200000).size());
  EXPECT_TRUE(r->body == Body(200000));
}

TEST_F(ScrapeServerTest, HeadIndexAndErrors) {
  StartServer(ScrapeServerOptions());
  std::optional<HttpResponse> r =
      Exchange(port_, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(scrapes_started_, 0);

  r = Get(port_, "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->head.find("Content-Type: text/html"), std::string::npos);
  EXPECT_NE(r->body.find("<a href=\"/metrics\">"), std::string::npos);
  EXPECT_NE(r->head.find("Content-Length: " + std::to_string(r->body.size())),
            std::string::npos);

  r = Get(port_, "/metricsx");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  r = Exchange(port_, "HEAD /nope HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "");

  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    r = Exchange(port_, std::string(method) +
                            " /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n"
                            "abc");
    ASSERT_TRUE(r.has_value()) << method;
    EXPECT_EQ(r->status, 405) << method;
    EXPECT_NE(r->head.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos);
  }

  for (const char* bad : {"HELLO\r\n\r\n", "GET /metrics\r\n\r\n",
                          "GET /metrics HTTP/2.0\r\n\r\n", "\r\n\r\n"}) {
    r = Exchange(port_, bad);
    ASSERT_TRUE(r.has_value()) << bad;
    EXPECT_EQ(r->status, 400) << bad;
  }

  r = Exchange(port_, "GET /metrics HTTP/1.1\r\nX-Big: " +
                          std::string(9000, 'x') + "\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(scrapes_started_, 0);
}

TEST_F(ScrapeServerTest, RequestsMayArriveInPieces) {
  StartServer(ScrapeServerOptions());
  int fd = Idle("GE");
  for (const char* piece :
       {"T /met", "rics HTTP/1.1\r\nHost:", " x\r\n", "\r\n"}) {
    ASSERT_EQ(send(fd, piece, strlen(piece), MSG_NOSIGNAL),
              static_cast<ssize_t>(strlen(piece)));
  }
  std::optional<std::string> raw = testing::ReadToEnd(fd);
  close(fd);
  ASSERT_TRUE(raw.has_value());
  std::optional<HttpResponse> r = testing::ParseResponse(*raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Body(3));
}

TEST_F(ScrapeServerTest, ServesIpv6) {
  StartServer(ScrapeServerOptions(), "[::1]:0");
  std::optional<HttpResponse> r = Get(port_, "/metrics", "::1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Body(3));
}

// Clients that send nothing hold every worker; they are dropped after the
// request timeout, and a scraper waiting behind them is then served.
TEST_F(ScrapeServerTest, SilentClientsAreDroppedAfterTheTimeout) {
  ScrapeServerOptions options;
  options.workers = 2;
  options.request_timeout = milliseconds(300);
  StartServer(options);
  int silent[] = {Idle(), Idle("GET /metrics HTTP/1.1\r\n")};
  WaitAccepted();
  std::optional<HttpResponse> r = Get(port_, "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  for (int fd : silent) {
    // Closed without a response.
    EXPECT_EQ(testing::ReadToEnd(fd), "");
    close(fd);
  }
}

// A client that asks for a big response and reads none of it holds its
// worker only until the send timeout.
TEST_F(ScrapeServerTest, StalledReadersAreDroppedAfterTheTimeout) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.send_timeout = milliseconds(300);
  StartServer(options);
  next_big_ = true;
  int stalled = Idle("GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(
      testing::WaitFor([&] { return scrapes_started_ == 1; }, seconds(30)));
  std::optional<HttpResponse> r = Get(port_, "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Body(3));
  EXPECT_EQ(writes_refused_, 1);
  close(stalled);
}

// Clients that send their request slowly, or never, wait on the accepting
// thread, not on a worker: a scraper is served at once beside a dozen of
// them, however long their request timeout, and they are still connected.
TEST_F(ScrapeServerTest, SlowRequestsHoldNoWorker) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.request_timeout = seconds(600);
  StartServer(options);
  std::vector<int> slow;
  for (int i = 0; i < 12; ++i) {
    slow.push_back(i % 2 == 0 ? Idle() : Idle("GET /metrics HTTP/1.1\r\n"));
  }
  WaitAccepted();
  std::optional<HttpResponse> r = testing::Exchange(
      port_, "GET /metrics HTTP/1.1\r\n\r\n", "127.0.0.1", seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Body(3));
  for (int fd : slow) {
    char byte;
    EXPECT_EQ(recv(fd, &byte, 1, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
    close(fd);
  }
}

// A client that reads nothing of a big response holds its worker while
// nobody else waits, and gives it up to a scraper that comes: the scraper
// is served long before the send timeout.
TEST_F(ScrapeServerTest, AStalledReaderGivesItsWorkerToTheNextScraper) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.send_timeout = seconds(600);
  StartServer(options);
  next_big_ = true;
  int stalled = Idle("GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(
      testing::WaitFor([&] { return scrapes_started_ == 1; }, seconds(30)));
  std::optional<HttpResponse> r = testing::Exchange(
      port_, "GET /metrics HTTP/1.1\r\n\r\n", "127.0.0.1", seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Body(3));
  EXPECT_EQ(writes_refused_, 1);
  close(stalled);
}

// A client that reads a little now and then (10 KiB/s) never stalls long
// enough for the send timeout, yet gives its worker up to a scraper that
// waits for one.
TEST_F(ScrapeServerTest, ATrickleReaderGivesItsWorkerToTheNextScraper) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.response_timeout = seconds(600);
  StartServer(options);
  next_big_ = true;
  int trickle = Idle("GET /metrics HTTP/1.1\r\n\r\n");
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    char buffer[1024];
    while (!stop && recv(trickle, buffer, sizeof(buffer), 0) > 0) {
      // Pacing the fault, not waiting for a condition.
      std::this_thread::sleep_for(milliseconds(100));
    }
  });
  ASSERT_TRUE(
      testing::WaitFor([&] { return scrapes_started_ == 1; }, seconds(30)));
  std::optional<HttpResponse> r = testing::Exchange(
      port_, "GET /metrics HTTP/1.1\r\n\r\n", "127.0.0.1", seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, Body(3));
  EXPECT_EQ(writes_refused_, 1);
  stop = true;
  shutdown(trickle, SHUT_RDWR);
  reader.join();
  close(trickle);
}

// Connections that arrive together at the limit are each read before any
// is dropped to make room: every one of them is answered.
TEST_F(ScrapeServerTest, ABurstAtTheConnectionLimitIsAnsweredWhole) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.max_connections = 4;
  StartServer(options);
  std::vector<int> clients;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(Idle("GET /metrics HTTP/1.1\r\n\r\n"));
  }
  for (int fd : clients) {
    std::optional<std::string> raw = testing::ReadToEnd(fd);
    ASSERT_TRUE(raw.has_value());
    std::optional<HttpResponse> r = testing::ParseResponse(*raw);
    ASSERT_TRUE(r.has_value()) << "dropped unanswered";
    EXPECT_EQ(r->status, 200);
    close(fd);
  }
}

// A client that keeps reading, but too slowly to take the response within
// the response timeout, is cut off: the stall timeout alone would never
// end it.
TEST_F(ScrapeServerTest, AResponseNotTakenInTimeIsCut) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.response_timeout = milliseconds(500);
  StartServer(options);
  next_big_ = true;
  int fd = Idle("GET /metrics HTTP/1.1\r\n\r\n");
  size_t received = 0;
  bool closed = false;
  const auto give_up = std::chrono::steady_clock::now() + seconds(60);
  while (!closed && std::chrono::steady_clock::now() < give_up) {
    char buffer[65536];
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) {
      closed = true;
    } else {
      received += static_cast<size_t>(n);
      // A slow reader: a few MiB/s.
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  close(fd);
  EXPECT_TRUE(closed);
  EXPECT_LT(received, Body(kBigSamples).size());
  EXPECT_TRUE(
      testing::WaitFor([&] { return writes_refused_ == 1; }, seconds(30)));
}

// Past max_connections, the client waiting longest for its request is
// dropped to make room; none is dropped while there is room.
TEST_F(ScrapeServerTest, PastTheConnectionLimitTheOldestWaitingIsDropped) {
  ScrapeServerOptions options;
  options.workers = 1;
  options.max_connections = 3;
  options.request_timeout = seconds(600);
  StartServer(options);
  int first = Idle();
  WaitAccepted();
  int second = Idle();
  int third = Idle();
  WaitAccepted();
  char byte;
  EXPECT_EQ(recv(first, &byte, 1, MSG_DONTWAIT), -1);
  int fourth = Idle();
  // Closed without a response.
  EXPECT_EQ(testing::ReadToEnd(first), "");
  std::optional<HttpResponse> r = testing::Exchange(
      port_, "GET /metrics HTTP/1.1\r\n\r\n", "127.0.0.1", seconds(30));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(testing::ReadToEnd(second), "");
  for (int fd : {third, fourth}) {
    EXPECT_EQ(recv(fd, &byte, 1, MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN);
  }
  for (int fd : {first, second, third, fourth}) close(fd);
}

TEST_F(ScrapeServerTest, StopsPromptlyWithClientsConnected) {
  ScrapeServerOptions options;
  options.workers = 2;
  StartServer(options);
  // One silent client, one that does not read its big response, and one
  // waiting in the backlog.
  int silent = Idle();
  next_big_ = true;
  int stalled = Idle("GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(
      testing::WaitFor([&] { return scrapes_started_ == 1; }, seconds(30)));
  WaitAccepted();
  int waiting = Idle("GET /metrics HTTP/1.1\r\n\r\n");

  auto start = std::chrono::steady_clock::now();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPrompt);
  EXPECT_EQ(writes_refused_, 1);
  for (int fd : {silent, stalled, waiting}) close(fd);
}

// The page at / is asked of an event loop on its own thread, as the
// daemon does, and rendered on the server's thread.
TEST_F(ScrapeServerTest, ServesThePageTheLoopAnswers) {
  EventLoop loop;
  ASSERT_TRUE(loop.Init().ok());
  std::atomic<bool> stop{false};
  std::atomic<int> rendered_on_loop{0};
  std::thread loop_thread([&] {
    while (!stop) loop.RunOnce(milliseconds(50));
  });
  const std::thread::id loop_id = loop_thread.get_id();
  const std::string page = "<!DOCTYPE html>\n<p>all &amp; well</p>\n";
  StartServer(ScrapeServerOptions(), "127.0.0.1:0", [&](PageReply reply) {
    loop.RunInLoop([&, reply] {
      reply.Send([&] {
        if (std::this_thread::get_id() == loop_id) ++rendered_on_loop;
        return page;
      });
    });
  });
  std::optional<HttpResponse> r = Get(port_, "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, page);
  for (const char* header :
       {"\r\nContent-Type: text/html; charset=utf-8\r\n",
        "\r\nCache-Control: no-store\r\n",
        "\r\nContent-Security-Policy: default-src 'none'; style-src "
        "'unsafe-inline';",
        "\r\nX-Content-Type-Options: nosniff\r\n"}) {
    EXPECT_NE(r->head.find(header), std::string::npos) << header << r->head;
  }
  EXPECT_NE(r->head.find("Content-Length: " + std::to_string(page.size())),
            std::string::npos);

  r = Exchange(port_, "HEAD /?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_NE(r->head.find("Content-Length: " + std::to_string(page.size())),
            std::string::npos)
      << r->head;
  r = Get(port_, "/index.html");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(rendered_on_loop, 0);

  server_.reset();
  stop = true;
  loop_thread.join();
}

// An owner that does not answer (a stalled loop) costs the client the page
// timeout and a 503 that retries by itself; an answer after that is
// dropped, and /metrics is served all along.
TEST_F(ScrapeServerTest, APageNotAnsweredInTimeIs503) {
  std::mutex mutex;
  std::vector<PageReply> replies;
  ScrapeServerOptions options;
  options.page_timeout = milliseconds(300);
  StartServer(options, "127.0.0.1:0", [&](PageReply reply) {
    std::lock_guard<std::mutex> lock(mutex);
    replies.push_back(reply);
  });
  const auto start = std::chrono::steady_clock::now();
  std::optional<HttpResponse> r = Get(port_, "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->head.find("\r\nRetry-After: 5\r\n"), std::string::npos);
  EXPECT_NE(r->body.find("<meta http-equiv=\"refresh\" content=\"5\">"),
            std::string::npos)
      << r->body;
  r = Get(port_, "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);

  std::lock_guard<std::mutex> lock(mutex);
  ASSERT_EQ(replies.size(), 1u);
  bool rendered = false;
  replies[0].Send([&] {
    rendered = true;
    return std::string("late");
  });
  replies[0].Send([] { return std::string("twice"); });
  EXPECT_FALSE(rendered);
}

// A worker waiting for the page does not hold up the server's stop, and
// the owner may still answer after the server is gone.
TEST_F(ScrapeServerTest, StopsPromptlyWhileAPageIsAwaited) {
  std::mutex mutex;
  std::vector<PageReply> replies;
  ScrapeServerOptions options;
  options.page_timeout = seconds(60);
  StartServer(options, "127.0.0.1:0", [&](PageReply reply) {
    std::lock_guard<std::mutex> lock(mutex);
    replies.push_back(reply);
  });
  int waiting = Idle("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mutex);
        return !replies.empty();
      },
      seconds(30)));
  auto start = std::chrono::steady_clock::now();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPrompt);
  close(waiting);
  std::lock_guard<std::mutex> lock(mutex);
  replies[0].Send([] { return std::string("after the server"); });
}

}  // namespace
}  // namespace watchd
