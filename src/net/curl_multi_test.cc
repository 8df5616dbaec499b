#include "net/curl_multi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "tests/support/loop_wait.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

size_t AppendBody(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Records the socket curl opens, to check what the loop watches.
curl_socket_t RecordSocket(void* out, curl_socket_t fd, curlsocktype) {
  *static_cast<curl_socket_t*>(out) = fd;
  return CURL_SOCKOPT_OK;
}

// The server end of one connection, played by the test: it reads the
// request and answers only when told, so the test knows what the client
// could have received, and sees when the client's end goes.
class Peer {
 public:
  Peer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ok_ =
        bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        listen(listen_fd_, 4) == 0 &&
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    port_ = ntohs(addr.sin_port);
  }
  ~Peer() {
    if (fd_ >= 0) close(fd_);
    close(listen_fd_);
  }
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  bool ok() const { return ok_; }
  int port() const { return port_; }

  // These never block (for RunUntil conditions).
  // True once a connection came and its request head was read.
  bool GotRequest() {
    if (fd_ < 0) {
      fd_ = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd_ < 0) return false;
    }
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd_, buf, sizeof(buf), 0)) > 0) request_.append(buf, n);
    return request_.find("\r\n\r\n") != std::string::npos;
  }
  // Sends a whole response; errors are ignored (the client may be gone).
  void Answer(const std::string& response) {
    [[maybe_unused]] ssize_t n =
        send(fd_, response.data(), response.size(), MSG_NOSIGNAL);
  }
  // True once the client closed or reset the connection.
  bool SawClose() {
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) continue;
      return n == 0 || (errno != EAGAIN && errno != EINTR);
    }
  }

 private:
  int listen_fd_ = -1;
  int fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
  std::string request_;
};

constexpr char kOkResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

class CurlMultiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    port_ = testing::FreePort();
    ASSERT_TRUE(server_.Start(
        {"python3", testing::SourcePath("tests/servers/http_server.py"),
         "--port", std::to_string(port_)},
        dir_.File("server.log")));
    ASSERT_TRUE(testing::WaitForPort(port_, milliseconds(10000)));
    MakeMulti(CurlMulti::kDefaultMaxIdleHandles);
  }

  void MakeMulti(size_t max_idle) {
    auto multi = CurlMulti::Create(&loop_, max_idle);
    ASSERT_TRUE(multi.ok()) << multi.status().message();
    multi_ = std::move(*multi);
  }

  std::string Url(const std::string& path, int port = 0) {
    return "http://127.0.0.1:" + std::to_string(port ? port : port_) + path;
  }

  // A handle from the pool set up to GET `url` into *body.
  CURL* Prepare(const std::string& url, std::string* body,
                curl_socket_t* fd = nullptr) {
    CURL* easy = multi_->Acquire();
    EXPECT_NE(easy, nullptr);
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &AppendBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    if (fd != nullptr) {
      curl_easy_setopt(easy, CURLOPT_SOCKOPTFUNCTION, &RecordSocket);
      curl_easy_setopt(easy, CURLOPT_SOCKOPTDATA, fd);
    }
    return easy;
  }

  bool RunUntil(const std::function<bool()>& cond,
                Duration limit = seconds(20)) {
    TimePoint deadline = loop_.Now() + limit;
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  EventLoop loop_;
  testing::TempDir dir_;
  testing::Subprocess server_;
  int port_ = 0;
  std::unique_ptr<CurlMulti> multi_;
};

TEST_F(CurlMultiTest, CompletesATransfer) {
  std::string body;
  CURL* easy = Prepare(Url("/ok"), &body);
  std::optional<CURLcode> result;
  ASSERT_TRUE(multi_->Add(easy, [&](CURLcode code) { result = code; }).ok());
  EXPECT_EQ(multi_->in_flight(), 1u);
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(*result, CURLE_OK);
  EXPECT_EQ(body, "ok");
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(multi_->in_flight(), 0u);
  multi_->Release(easy);
  EXPECT_EQ(multi_->idle_handles(), 1u);
}

TEST_F(CurlMultiTest, ReportsConnectFailure) {
  int closed = testing::FreePort();
  std::string body;
  CURL* easy = Prepare(Url("/ok", closed), &body);
  std::optional<CURLcode> result;
  ASSERT_TRUE(multi_->Add(easy, [&](CURLcode code) { result = code; }).ok());
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_EQ(*result, CURLE_COULDNT_CONNECT);
  multi_->Release(easy);
}

TEST_F(CurlMultiTest, ManyConcurrentTransfersShareAFewHandles) {
  MakeMulti(8);
  constexpr int kTransfers = 100;
  std::vector<std::string> bodies(kTransfers);
  std::vector<CURL*> handles;
  int ok = 0;
  int done = 0;
  for (int i = 0; i < kTransfers; ++i) {
    CURL* easy = Prepare(Url("/ok"), &bodies[i]);
    handles.push_back(easy);
    ASSERT_TRUE(multi_
                    ->Add(easy,
                          [&, easy](CURLcode code) {
                            ++done;
                            if (code == CURLE_OK) ++ok;
                            multi_->Release(easy);
                          })
                    .ok());
  }
  ASSERT_TRUE(RunUntil([&] { return done == kTransfers; }, seconds(60)));
  EXPECT_EQ(ok, kTransfers);
  for (const std::string& body : bodies) EXPECT_EQ(body, "ok");
  EXPECT_EQ(multi_->in_flight(), 0u);
  // Releases beyond the cap freed their handles.
  EXPECT_EQ(multi_->idle_handles(), 8u);
}

TEST_F(CurlMultiTest, PoolReusesReleasedHandles) {
  MakeMulti(2);
  CURL* a = multi_->Acquire();
  CURL* b = multi_->Acquire();
  CURL* c = multi_->Acquire();
  ASSERT_TRUE(a && b && c);
  multi_->Release(a);
  multi_->Release(b);
  multi_->Release(c);  // over the cap: cleaned up
  EXPECT_EQ(multi_->idle_handles(), 2u);
  CURL* again = multi_->Acquire();
  EXPECT_TRUE(again == a || again == b);
  multi_->Release(again);
}

TEST_F(CurlMultiTest, RemoveCancelsWithoutCallbackAndUnwatches) {
  Peer peer;
  ASSERT_TRUE(peer.ok());
  std::string body;
  curl_socket_t fd = CURL_SOCKET_BAD;
  CURL* easy = Prepare(Url("/hang", peer.port()), &body, &fd);
  bool called = false;
  ASSERT_TRUE(multi_->Add(easy, [&](CURLcode) { called = true; }).ok());
  // The request is out and unanswered: the transfer waits on its socket.
  ASSERT_TRUE(RunUntil([&] {
    return peer.GotRequest() && fd != CURL_SOCKET_BAD &&
           loop_.IsWatched(static_cast<int>(fd));
  }));
  ASSERT_TRUE(testing::RunLoopPastPending(loop_));
  EXPECT_FALSE(called);
  multi_->Remove(easy);
  EXPECT_EQ(multi_->in_flight(), 0u);
  EXPECT_FALSE(loop_.IsWatched(static_cast<int>(fd)));
  // The peer answers in full, then sees curl's end go: a transfer still
  // running would have been handed that answer first.
  peer.Answer(kOkResponse);
  EXPECT_TRUE(RunUntil([&] { return peer.SawClose(); }));
  ASSERT_TRUE(testing::RunLoopPastPending(loop_));
  EXPECT_FALSE(called);
  EXPECT_EQ(body, "");
  multi_->Remove(easy);  // no longer in flight: a no-op
  multi_->Release(easy);
}

TEST_F(CurlMultiTest, CallbacksMayAddAndRemoveTransfers) {
  std::string hang_body, first_body, second_body;
  CURL* hang = Prepare(Url("/hang"), &hang_body);
  CURL* first = Prepare(Url("/ok"), &first_body);
  bool hang_called = false;
  std::optional<CURLcode> second_result;
  ASSERT_TRUE(multi_->Add(hang, [&](CURLcode) { hang_called = true; }).ok());
  ASSERT_TRUE(multi_
                  ->Add(first,
                        [&](CURLcode code) {
                          EXPECT_EQ(code, CURLE_OK);
                          multi_->Remove(hang);
                          multi_->Release(hang);
                          // The finished handle goes straight back in.
                          curl_easy_setopt(first, CURLOPT_WRITEDATA,
                                           &second_body);
                          Status s = multi_->Add(
                              first, [&](CURLcode c) { second_result = c; });
                          EXPECT_TRUE(s.ok());
                        })
                  .ok());
  ASSERT_TRUE(RunUntil([&] { return second_result.has_value(); }));
  EXPECT_EQ(*second_result, CURLE_OK);
  EXPECT_EQ(second_body, "ok");
  EXPECT_FALSE(hang_called);
  EXPECT_EQ(multi_->in_flight(), 0u);
  multi_->Release(first);
}

// Each transfer's own timeout runs on the loop timer, also the later one
// curl asks for once the earliest transfer has finished.
TEST_F(CurlMultiTest, EachTransferTimesOutOnTheLoopTimer) {
  std::string quick_body, hang_body;
  CURL* quick = Prepare(Url("/slow/500"), &quick_body);
  CURL* hang = Prepare(Url("/hang"), &hang_body);
  curl_easy_setopt(quick, CURLOPT_TIMEOUT_MS, 1000L);
  curl_easy_setopt(hang, CURLOPT_TIMEOUT_MS, 3000L);
  std::optional<CURLcode> quick_result;
  std::optional<CURLcode> hang_result;
  ASSERT_TRUE(
      multi_->Add(quick, [&](CURLcode code) { quick_result = code; }).ok());
  ASSERT_TRUE(
      multi_->Add(hang, [&](CURLcode code) { hang_result = code; }).ok());
  const TimePoint added = loop_.Now();
  ASSERT_TRUE(RunUntil([&] { return hang_result.has_value(); }, seconds(10)));
  EXPECT_EQ(*hang_result, CURLE_OPERATION_TIMEDOUT);
  EXPECT_LT(loop_.Now() - added, seconds(5));
  ASSERT_TRUE(quick_result.has_value());
  EXPECT_EQ(*quick_result, CURLE_OK);
  multi_->Release(quick);
  multi_->Release(hang);
}

TEST_F(CurlMultiTest, DestructionAbandonsTransfersInFlight) {
  std::string body;
  curl_socket_t fd = CURL_SOCKET_BAD;
  CURL* easy = Prepare(Url("/hang"), &body, &fd);
  bool called = false;
  ASSERT_TRUE(multi_->Add(easy, [&](CURLcode) { called = true; }).ok());
  ASSERT_TRUE(RunUntil([&] {
    return fd != CURL_SOCKET_BAD && loop_.IsWatched(static_cast<int>(fd));
  }));
  multi_.reset();
  EXPECT_FALSE(called);
  EXPECT_FALSE(loop_.IsWatched(static_cast<int>(fd)));
  EXPECT_EQ(loop_.pending_timers(), 0u);
  curl_easy_cleanup(easy);
}

}  // namespace

// Calls curl's timer function as curl would, with sequences a real transfer
// cannot be made to produce on cue.
class CurlMultiPeer {
 public:
  static void CurlAsks(CurlMulti* multi, long timeout_ms) {
    CurlMulti::OnTimerChange(multi->multi_, timeout_ms, multi);
  }
  static std::optional<TimePoint> TimerDue(const CurlMulti& multi) {
    if (!multi.timer_.pending()) return std::nullopt;
    return multi.due_;
  }
  // As when the loop refuses to watch one of the transfer's sockets.
  static void RefuseSocket(CurlMulti* multi, CURL* easy) {
    multi->unwatchable_.push_back(easy);
  }
};

namespace {

// A transfer whose socket the loop refused fails from Drain, which must skip
// entries an earlier callback made stale: a transfer removed and its handle
// freed, or one whose handle went straight back in.
TEST_F(CurlMultiTest, RefusedSocketFailsOnlyTransfersStillInFlight) {
  MakeMulti(0);  // Release frees handles: a stale entry is a use after free
  std::string a_body, b_body, again_body;
  CURL* a = Prepare(Url("/hang"), &a_body);
  CURL* b = Prepare(Url("/hang"), &b_body);
  std::vector<CURLcode> a_results;
  bool b_called = false;
  std::optional<CURLcode> again_result;
  ASSERT_TRUE(multi_->Add(b, [&](CURLcode) { b_called = true; }).ok());
  ASSERT_TRUE(
      multi_
          ->Add(
              a,
              [&](CURLcode code) {
                a_results.push_back(code);
                multi_->Remove(a);  // done already: a no-op
                multi_->Remove(b);
                multi_->Release(b);
                const std::string url = Url("/ok");
                curl_easy_setopt(a, CURLOPT_URL, url.c_str());
                curl_easy_setopt(a, CURLOPT_WRITEDATA, &again_body);
                EXPECT_TRUE(
                    multi_->Add(a, [&](CURLcode c) { again_result = c; }).ok());
              })
          .ok());
  CurlMultiPeer::RefuseSocket(multi_.get(), b);
  CurlMultiPeer::RefuseSocket(multi_.get(), a);
  CurlMultiPeer::RefuseSocket(multi_.get(), a);
  ASSERT_TRUE(RunUntil([&] { return again_result.has_value(); }));
  EXPECT_EQ(a_results, std::vector<CURLcode>{CURLE_OUT_OF_MEMORY});
  EXPECT_EQ(*again_result, CURLE_OK);
  EXPECT_EQ(again_body, "ok");
  EXPECT_FALSE(b_called);
  EXPECT_EQ(multi_->in_flight(), 0u);
  multi_->Release(a);
}

// curl calls its timer function only when its earliest deadline changes.
// When it moves later while the loop timer is armed for the earlier time,
// that timer fires first, curl finds nothing due and stays silent: the
// later deadline must then be re-armed from what curl asked last.
TEST(CurlMultiTimerTest, KeepsTheDeadlineCurlAskedForAfterAnEarlyFire) {
  FakeClock clock;
  EventLoop loop(&clock);
  ASSERT_TRUE(loop.Init().ok());
  auto created = CurlMulti::Create(&loop);
  ASSERT_TRUE(created.ok());
  CurlMulti* multi = created->get();
  const TimePoint start = clock.Now();

  CurlMultiPeer::CurlAsks(multi, 100);
  CurlMultiPeer::CurlAsks(multi, 300);
  ASSERT_TRUE(CurlMultiPeer::TimerDue(*multi).has_value());
  EXPECT_LE(*CurlMultiPeer::TimerDue(*multi), start + milliseconds(300));

  clock.Advance(milliseconds(150));
  loop.RunOnce(milliseconds(0));
  EXPECT_EQ(CurlMultiPeer::TimerDue(*multi), start + milliseconds(300));

  // At the deadline curl has run it; its silence then means nothing is
  // left, and the timer is not armed again.
  clock.Advance(milliseconds(150));
  loop.RunOnce(milliseconds(0));
  EXPECT_EQ(CurlMultiPeer::TimerDue(*multi), std::nullopt);
  EXPECT_EQ(loop.pending_timers(), 0u);
}

TEST(CurlMultiTimerTest, EarlierDeadlineReplacesAndMinusOneDeletes) {
  FakeClock clock;
  EventLoop loop(&clock);
  ASSERT_TRUE(loop.Init().ok());
  auto created = CurlMulti::Create(&loop);
  ASSERT_TRUE(created.ok());
  CurlMulti* multi = created->get();
  const TimePoint start = clock.Now();

  CurlMultiPeer::CurlAsks(multi, 500);
  EXPECT_EQ(CurlMultiPeer::TimerDue(*multi), start + milliseconds(500));
  CurlMultiPeer::CurlAsks(multi, 0);
  EXPECT_EQ(CurlMultiPeer::TimerDue(*multi), start);
  CurlMultiPeer::CurlAsks(multi, -1);
  EXPECT_EQ(CurlMultiPeer::TimerDue(*multi), std::nullopt);
  // Deleted means deleted: a fire that was pending re-arms nothing.
  clock.Advance(milliseconds(600));
  loop.RunOnce(milliseconds(0));
  EXPECT_EQ(loop.pending_timers(), 0u);
}

}  // namespace
}  // namespace watchd
