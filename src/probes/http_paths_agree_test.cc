// The http probe's two paths must read the same: every hostile response of
// tests/servers/hostile_http.py goes through the plain client (HttpExchange,
// a fresh connection) and through libcurl (reuse_connection: true), and both
// must give the same verdict, result class, reason and status metric. Each
// mode also has the answer an operator should see, asserted on both.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "core/event_loop.h"
#include "net/curl_multi.h"
#include "net/resolver.h"
#include "probes/http_probe.h"
#include "tests/support/loop_wait.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kMaxBody = 64 * 1024;

struct Mode {
  const char* name;  // /mode/NAME on the hostile server
  ProbeOutcome outcome;
  const char* reason;
  int http_status;  // the status metric; 0: none
  // The run's timeout: short where the answer is a timeout, generous
  // elsewhere (a loaded machine must not turn an answer into a timeout).
  Duration timeout = seconds(10);
};

// gtest names a failing mode by this rather than by its bytes.
void PrintTo(const Mode& mode, std::ostream* os) { *os << mode.name; }

constexpr ProbeOutcome kSuccess = ProbeOutcome::kSuccess;
constexpr ProbeOutcome kFailure = ProbeOutcome::kFailure;
constexpr ProbeOutcome kTimeout = ProbeOutcome::kTimeout;

const Mode kModes[] = {
    // A head beyond what watchd reads (64 KiB) is the service's fault, not
    // watchd's (libcurl called one 600 KB line "out of memory", an error).
    {"headers-600k", kFailure, "malformed response: headers too long", 200},
    {"headers-100k", kFailure, "malformed response: headers too long", 200},
    // Framing the response cannot be read by: refused (libcurl took an
    // overflowing length for "until close", and the last of two).
    {"length-huge", kFailure, "malformed response: bad Content-Length", 200},
    {"length-negative", kFailure, "malformed response: bad Content-Length",
     200},
    {"length-conflict", kFailure, "malformed response: bad Content-Length",
     200},
    {"length-repeated", kSuccess, "status 200", 200},
    {"length-short", kFailure, "response cut short", 200},
    // Fields that mean different things to different readers: refused
    // (libcurl refuses them first; the plain client let them through).
    {"nul-header-name", kFailure, "malformed response: NUL in header", 200},
    {"nul-header-value", kFailure, "malformed response: NUL in header", 200},
    {"header-no-colon", kFailure, "malformed response: header without colon",
     200},
    {"header-empty-name", kSuccess, "status 200", 200},
    {"header-folded", kSuccess, "status 200", 200},
    // A transfer coding watchd did not ask for (it sends no TE): the
    // server is up, but libcurl decoded gzip where the plain client matched
    // the coded bytes; neither matches a body now.
    {"te-gzip-chunked", kFailure,
     "body in a Transfer-Encoding watchd does not decode", 200},
    {"te-gzip", kFailure, "body in a Transfer-Encoding watchd does not decode",
     200},
    {"te-chunked-and-length", kSuccess, "status 200", 200},
    // Chunk sizes: the digits are all that counts; what follows them on the
    // line (an extension of any length, junk) is skipped, as libcurl does.
    {"chunk-extension-200k", kSuccess, "status 200", 200},
    {"chunk-size-junk", kSuccess, "status 200", 200},
    {"chunk-size-invalid", kFailure, "malformed response: bad chunk", 200},
    {"chunk-size-huge", kFailure, "malformed response: bad chunk", 200},
    // Trailers are not used, but bounded per line (libcurl's 4 KiB).
    {"trailer-4000", kSuccess, "status 200", 200},
    {"trailer-10k", kFailure, "malformed response: bad chunk", 200},
    {"chunked-cut", kFailure, "response cut short", 200},
    // Bodies beyond max_body_bytes are cut; the verdict uses the prefix.
    {"chunked-endless", kSuccess, "status 200", 200},
    {"body-1g", kSuccess, "status 200", 200},
    {"drip-head", kTimeout, "timeout after 1s (waiting for response)", 0,
     seconds(1)},
    {"drip-body", kTimeout, "timeout after 1s (reading body)", 200, seconds(1)},
    {"reset-mid-body", kFailure, "connection reset", 200},
    // Closed early: before a whole status line is "empty reply" (libcurl's
    // words), after it "response cut short".
    {"close-before-status", kFailure, "empty reply", 0},
    {"close-mid-status", kFailure, "empty reply", 0},
    {"close-mid-headers", kFailure, "response cut short", 200},
    {"close-after-interim", kFailure, "response cut short", 100},
    {"garbage", kFailure, "malformed response", 0},
    {"garbage-status", kFailure, "malformed response", 0},
    {"http10-until-close", kSuccess, "status 200", 200},
    {"interim-1xx", kSuccess, "status 200", 200},
    {"lf-only", kSuccess, "status 200", 200},
    // Status lines: three digits from 100 on HTTP/1.0 or 1.1, nothing else.
    {"status-999", kFailure, "status 999", 999},
    {"status-600", kFailure, "status 600", 600},
    {"status-599", kFailure, "status 599", 599},
    {"status-000", kFailure, "malformed response", 0},
    {"status-099", kFailure, "malformed response", 0},
    {"status-2digit", kFailure, "malformed response", 0},
    {"status-4digit", kFailure, "malformed response", 0},
    {"status-no-reason", kSuccess, "status 200", 200},
    {"status-http2", kFailure, "malformed response", 0},
    {"status-http19", kFailure, "malformed response", 0},
};

std::string Describe(const ProbeResult& r) {
  return std::string(ProbeOutcomeName(r.outcome)) + " \"" + r.reason +
         "\" status " +
         (r.http_status ? std::to_string(*r.http_status) : "none");
}

class HttpPathsAgreeTest : public ::testing::TestWithParam<Mode> {
 protected:
  // One server for the suite: starting python is the slow part.
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    server_ = new testing::Subprocess;
    ASSERT_TRUE(testing::StartTestServer(
        server_, "tests/servers/hostile_http.py", {"--port", "0"},
        dir_->File("ready"), dir_->File("server.log")))
        << testing::ReadFile(dir_->File("server.log"));
    port_ = std::stoi(testing::ReadFile(dir_->File("ready")));
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_GT(port_, 0) << "the hostile server did not start";
    ASSERT_TRUE(loop_.Init().ok());
    auto multi = CurlMulti::Create(&loop_);
    ASSERT_TRUE(multi.ok()) << multi.status().message();
    multi_ = std::move(*multi);
    auto resolver = Resolver::Create(&loop_);
    ASSERT_TRUE(resolver.ok()) << resolver.status().message();
    resolver_ = std::move(*resolver);
  }

  // One run of `mode` through the plain client or through curl, ended by
  // the answer or by the probe's own backstop (nobody cancels it, so a
  // timeout reports its phase).
  // `match_body`: the body each path read is compared too (every mode's is
  // "ok" or x's).
  ProbeResult Run(const Mode& mode, bool through_curl, bool match_body = true) {
    HttpProbeConfig c;
    c.url = "http://127.0.0.1:" + std::to_string(port_) + "/mode/" + mode.name;
    c.reuse_connection = through_curl;
    c.max_body_bytes = kMaxBody;
    if (match_body) c.expect_body = "^(ok|x+)$";
    HttpProbe probe(c, multi_.get(), resolver_.get());
    std::optional<ProbeResult> result;
    probe.Start(mode.timeout, [&](ProbeResult r) { result = std::move(r); });
    EXPECT_TRUE(testing::RunLoopUntil(
        loop_, [&] { return result.has_value(); }, mode.timeout + seconds(20)))
        << "the probe did not finish";
    return result.value_or(ProbeResult::Error("did not finish"));
  }

  static testing::TempDir* dir_;
  static testing::Subprocess* server_;
  static int port_;
  EventLoop loop_;
  std::unique_ptr<CurlMulti> multi_;
  std::unique_ptr<Resolver> resolver_;
};

testing::TempDir* HttpPathsAgreeTest::dir_ = nullptr;
testing::Subprocess* HttpPathsAgreeTest::server_ = nullptr;
int HttpPathsAgreeTest::port_ = 0;

TEST_P(HttpPathsAgreeTest, BothPathsGiveTheSameAnswer) {
  const Mode& mode = GetParam();
  ProbeResult plain = Run(mode, false);
  EXPECT_EQ(multi_->idle_handles(), 0u) << "the plain client served the run";
  ProbeResult curl = Run(mode, true);
  EXPECT_EQ(multi_->idle_handles(), 1u) << "curl served the run";
  SCOPED_TRACE("plain: " + Describe(plain) + "; curl: " + Describe(curl));

  // The paths agree...
  EXPECT_EQ(plain.outcome == kSuccess, curl.outcome == kSuccess);
  EXPECT_EQ(ProbeOutcomeName(plain.outcome), ProbeOutcomeName(curl.outcome));
  EXPECT_EQ(plain.reason, curl.reason);
  EXPECT_EQ(plain.http_status, curl.http_status);
  // ...on the answer an operator should see.
  std::optional<int> status;
  if (mode.http_status != 0) status = mode.http_status;
  for (const ProbeResult* r : {&plain, &curl}) {
    EXPECT_EQ(ProbeOutcomeName(r->outcome), ProbeOutcomeName(mode.outcome));
    EXPECT_EQ(r->reason, mode.reason);
    EXPECT_EQ(r->http_status, status);
  }
}

// A server that applies a transfer coding watchd did not ask for is still
// up: a check of its status alone passes on both paths.
TEST_F(HttpPathsAgreeTest, ACodedBodyPassesACheckOfTheStatusAlone) {
  for (const char* name : {"te-gzip", "te-gzip-chunked"}) {
    const Mode mode{name, kSuccess, "status 200", 200};
    for (bool through_curl : {false, true}) {
      ProbeResult r = Run(mode, through_curl, /*match_body=*/false);
      EXPECT_EQ(ProbeOutcomeName(r.outcome), ProbeOutcomeName(kSuccess))
          << name << (through_curl ? " through curl: " : ": ") << Describe(r);
      EXPECT_EQ(r.reason, "status 200");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HostileResponses, HttpPathsAgreeTest,
                         ::testing::ValuesIn(kModes),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           std::string name = info.param.name;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace watchd
