#include "net/curl_multi.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.h"
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

  // Runs the loop for `d` whatever happens: for asserting that nothing does.
  void RunFor(Duration d) {
    RunUntil([] { return false; }, d);
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
  std::string body;
  curl_socket_t fd = CURL_SOCKET_BAD;
  CURL* easy = Prepare(Url("/hang"), &body, &fd);
  bool called = false;
  ASSERT_TRUE(multi_->Add(easy, [&](CURLcode) { called = true; }).ok());
  ASSERT_TRUE(RunUntil([&] {
    return fd != CURL_SOCKET_BAD && loop_.IsWatched(static_cast<int>(fd));
  }));
  RunFor(milliseconds(300));
  EXPECT_FALSE(called);
  multi_->Remove(easy);
  EXPECT_EQ(multi_->in_flight(), 0u);
  EXPECT_FALSE(loop_.IsWatched(static_cast<int>(fd)));
  RunFor(milliseconds(300));
  EXPECT_FALSE(called);
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
}  // namespace watchd
