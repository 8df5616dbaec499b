#include "probes/http_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "net/curl_multi.h"
#include "net/resolver.h"
#include "tests/support/loop_wait.h"
#include "tests/support/net.h"
#include "tests/support/probe_reentry.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
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

class HttpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    auto multi = CurlMulti::Create(&loop_);
    ASSERT_TRUE(multi.ok()) << multi.status().message();
    multi_ = std::move(*multi);
    auto resolver = Resolver::Create(&loop_);
    ASSERT_TRUE(resolver.ok()) << resolver.status().message();
    resolver_ = std::move(*resolver);
  }

  // Starts tests/servers/http_server.py on a free port with `extra` args and
  // waits until it is ready.
  void StartServer(std::vector<std::string> extra = {}) {
    port_ = testing::FreePort();
    extra.insert(extra.begin(), {"--port", std::to_string(port_)});
    ASSERT_TRUE(testing::StartTestServer(
        &server_, "tests/servers/http_server.py", extra, dir_.File("ready"),
        dir_.File("server.log")))
        << testing::ReadFile(dir_.File("server.log"));
  }

  HttpProbeConfig Config(const std::string& path,
                         const std::string& host = "127.0.0.1") {
    HttpProbeConfig c;
    c.url = "http://" + host + ":" + std::to_string(port_) + path;
    return c;
  }

  bool RunUntil(const std::function<bool()>& cond,
                Duration limit = seconds(20)) {
    TimePoint deadline = loop_.Now() + limit;
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  // Jumps the loop's clock past a run's `timeout` (and its backstop) and
  // runs the loop past all that was pending: the run's timers are then over.
  bool RunPastTimeout(Duration timeout) {
    clock_.Advance(timeout * 2 + seconds(1));
    return testing::RunLoopPastPending(loop_);
  }

  // One run to completion (the test fails if it does not end in `limit`).
  ProbeResult Run(HttpProbe& probe, Duration timeout = seconds(5),
                  Duration limit = seconds(20)) {
    std::optional<ProbeResult> result;
    probe.Start(timeout, [&](ProbeResult r) { result = std::move(r); });
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }, limit))
        << "probe did not finish";
    return result.value_or(ProbeResult::Error("did not finish"));
  }

  ProbeResult RunConfig(const HttpProbeConfig& config,
                        Duration timeout = seconds(5)) {
    HttpProbe probe(config, multi_.get(), resolver_.get());
    return Run(probe, timeout);
  }

  // A self-signed certificate for CN=localhost, valid 30 days.
  void MakeCertificate() {
    cert_ = dir_.File("cert.pem");
    key_ = dir_.File("key.pem");
    testing::Subprocess openssl;
    ASSERT_TRUE(openssl.Start(
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
         "30", "-subj", "/CN=localhost", "-keyout", key_, "-out", cert_},
        dir_.File("openssl.log")));
    auto status = openssl.Wait(milliseconds(60000));
    ASSERT_TRUE(status.has_value());
    ASSERT_EQ(*status, 0) << testing::ReadFile(dir_.File("openssl.log"));
  }

  testing::SteppedClock clock_;
  EventLoop loop_{&clock_};
  std::unique_ptr<CurlMulti> multi_;
  std::unique_ptr<Resolver> resolver_;
  testing::TempDir dir_;
  testing::Subprocess server_;
  int port_ = 0;
  std::string cert_;
  std::string key_;
};

TEST_F(HttpProbeTest, HealthyServerPasses) {
  StartServer();
  ProbeResult r = RunConfig(Config("/ok"));
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_EQ(r.reason, "status 200");
  EXPECT_EQ(r.http_status, 200);
  EXPECT_FALSE(r.dns_lookup_seconds.has_value());  // an IP literal
  EXPECT_FALSE(r.ssl_earliest_cert_expiry.has_value());
}

TEST_F(HttpProbeTest, ServerErrorFails) {
  StartServer();
  ProbeResult r = RunConfig(Config("/status/503"));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "status 503");
  EXPECT_EQ(r.http_status, 503);
}

TEST_F(HttpProbeTest, DefaultAcceptsAny2xxOr3xxWithoutFollowing) {
  StartServer();
  EXPECT_EQ(RunConfig(Config("/status/204")).outcome, ProbeOutcome::kSuccess);
  ProbeResult redirect = RunConfig(Config("/status/302"));
  EXPECT_EQ(redirect.outcome, ProbeOutcome::kSuccess) << redirect.reason;
  EXPECT_EQ(redirect.http_status, 302);
  ProbeResult missing = RunConfig(Config("/status/404"));
  EXPECT_EQ(missing.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(missing.reason, "status 404");
}

TEST_F(HttpProbeTest, ExpectStatusList) {
  StartServer();
  HttpProbeConfig c = Config("/status/503");
  c.expect_status = {200, 503};
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kSuccess);
  c = Config("/ok");
  c.expect_status = {201, 204};
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "status 200");
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(HttpProbeTest, BodyRegex) {
  StartServer();
  HttpProbeConfig c = Config("/body/hello%20world");
  c.expect_body = "hel+o\\s+w";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kSuccess);
  c.expect_body = "^goodbye";
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "body did not match");
  EXPECT_EQ(r.http_status, 200);
  // Anchors keep their meaning: start and end of the body.
  c.expect_body = "^hello world$";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kSuccess);
  c.expect_body = "^world";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kFailure);
  // Plain text is searched as such.
  c.expect_body = "lo wor";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kSuccess);
  c.expect_body = "lo  wor";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kFailure);
  // A status failure is reported before the body is looked at.
  c = Config("/status/500");
  c.expect_body = "status";
  EXPECT_EQ(RunConfig(c).reason, "status 500");
}

TEST_F(HttpProbeTest, BadRegexIsAnError) {
  HttpProbeConfig c;
  c.url = "http://127.0.0.1:1/";
  c.expect_body = "(unclosed";
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kError);
  EXPECT_TRUE(StartsWith(r.reason, "bad expect_body")) << r.reason;
  c.expect_body = "(a)\\1";  // back-references are not supported
  r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kError);
  EXPECT_TRUE(StartsWith(r.reason, "bad expect_body")) << r.reason;
}

TEST_F(HttpProbeTest, BadUrlIsAnError) {
  HttpProbeConfig c;
  c.url = "ftp://127.0.0.1/file";
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kError);
  EXPECT_TRUE(StartsWith(r.reason, "bad URL")) << r.reason;
  c.url = "not a url";
  r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kError);
  EXPECT_TRUE(StartsWith(r.reason, "bad URL")) << r.reason;
}

TEST_F(HttpProbeTest, SendsCustomHeaders) {
  StartServer();
  HttpProbeConfig c = Config("/echo-headers");
  c.headers = {{"X-Watchd-Test", "abc 123"}, {"Host", "example.org"}};
  c.expect_body = "\nX-Watchd-Test: abc 123\n";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kSuccess);
  c.expect_body = "\nHost: example.org\n";
  EXPECT_EQ(RunConfig(c).outcome, ProbeOutcome::kSuccess);
}

TEST_F(HttpProbeTest, MethodsAndRequestBody) {
  StartServer();
  HttpProbeConfig head = Config("/ok");
  head.method = "HEAD";
  ProbeResult r = RunConfig(head);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_EQ(r.http_status, 200);

  HttpProbeConfig post = Config("/echo-headers");
  post.method = "POST";
  post.body = "payload=1";
  post.expect_body = "^POST /echo-headers HTTP/1.1\n[\\s\\S]*\n\npayload=1$";
  r = RunConfig(post);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;

  HttpProbeConfig put = post;
  put.method = "PUT";
  put.expect_body = "^PUT [\\s\\S]*\n\npayload=1$";
  EXPECT_EQ(RunConfig(put).outcome, ProbeOutcome::kSuccess);

  HttpProbeConfig del = Config("/echo-headers");
  del.method = "delete";
  del.expect_body = "^DELETE /echo-headers";
  EXPECT_EQ(RunConfig(del).outcome, ProbeOutcome::kSuccess);

  HttpProbeConfig empty_post = Config("/echo-headers");
  empty_post.method = "POST";
  empty_post.expect_body = "^POST [\\s\\S]*Content-Length: 0\n";
  EXPECT_EQ(RunConfig(empty_post).outcome, ProbeOutcome::kSuccess);
}

TEST_F(HttpProbeTest, ClosedPortIsRefused) {
  port_ = testing::FreePort();
  ProbeResult r = RunConfig(Config("/ok"));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "connection refused");
  EXPECT_FALSE(r.http_status.has_value());
}

// Open file descriptors of this process.
int OpenFds() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

TEST_F(HttpProbeTest, HangingServerRunsUntilCancelled) {
  // Both paths: the lean client (default) and curl (reused connections).
  for (bool reuse : {false, true}) {
    Peer peer;
    ASSERT_TRUE(peer.ok());
    port_ = peer.port();
    HttpProbeConfig c = Config("/hang");
    c.reuse_connection = reuse;
    HttpProbe probe(c, multi_.get(), resolver_.get());
    int fds = OpenFds();
    bool called = false;
    // A long timeout: the Check, not the probe, ends runs on time.
    probe.Start(seconds(30), [&](ProbeResult) { called = true; });
    // The request is out and unanswered: the run waits on its connection.
    ASSERT_TRUE(RunUntil([&] { return peer.GotRequest(); }));
    ASSERT_TRUE(testing::RunLoopPastPending(loop_));
    EXPECT_FALSE(called);
    EXPECT_EQ(multi_->in_flight(), reuse ? 1u : 0u);
    if (!reuse) {
      EXPECT_EQ(OpenFds(), fds + 2) << "the connection is open (both ends)";
    }
    probe.Cancel();
    EXPECT_EQ(multi_->in_flight(), 0u);
    if (!reuse) {
      EXPECT_EQ(OpenFds(), fds + 1) << "Cancel closes the connection";
    }
    // The peer answers in full, then sees the client's end go: a run still
    // going would have been handed that answer first. Then the clock
    // passes the run's timeout and backstop.
    peer.Answer(kOkResponse);
    EXPECT_TRUE(RunUntil([&] { return peer.SawClose(); }));
    ASSERT_TRUE(RunPastTimeout(seconds(30)));
    EXPECT_FALSE(called);
    probe.Cancel();
  }
}

TEST_F(HttpProbeTest, DestroyingARunningProbeCancelsIt) {
  Peer peer;
  ASSERT_TRUE(peer.ok());
  port_ = peer.port();
  bool called = false;
  {
    HttpProbe probe(Config("/hang"), multi_.get(), resolver_.get());
    probe.Start(seconds(30), [&](ProbeResult) { called = true; });
    ASSERT_TRUE(RunUntil([&] { return peer.GotRequest(); }));
  }
  EXPECT_EQ(multi_->in_flight(), 0u);
  // As above: answered, the client's end seen gone, the timeout passed.
  peer.Answer(kOkResponse);
  EXPECT_TRUE(RunUntil([&] { return peer.SawClose(); }));
  ASSERT_TRUE(RunPastTimeout(seconds(30)));
  EXPECT_FALSE(called);
}

TEST_F(HttpProbeTest, BackstopTimesOutAnUncancelledRun) {
  StartServer();
  HttpProbe probe(Config("/hang"), multi_.get(), resolver_.get());
  ProbeResult r = Run(probe, milliseconds(300));
  EXPECT_EQ(r.outcome, ProbeOutcome::kTimeout);
  EXPECT_EQ(r.reason, "timeout after 300ms (waiting for response)");
  EXPECT_FALSE(r.http_status.has_value());
}

TEST_F(HttpProbeTest, ServerThatNeverAcceptsTimesOutConnecting) {
  StartServer({"--no-accept"});
  ProbeResult r = RunConfig(Config("/ok"), milliseconds(300));
  EXPECT_EQ(r.outcome, ProbeOutcome::kTimeout);
  EXPECT_EQ(r.reason, "timeout after 300ms (connecting)");
}

TEST_F(HttpProbeTest, DrippingBodyEndsAtTheBackstop) {
  StartServer();
  ProbeResult r = RunConfig(Config("/drip"), seconds(1));
  EXPECT_EQ(r.outcome, ProbeOutcome::kTimeout);
  EXPECT_EQ(r.reason, "timeout after 1s (reading body)");
  EXPECT_EQ(r.http_status, 200);
}

TEST_F(HttpProbeTest, BigBodyIsCutAtTheLimit) {
  StartServer();
  HttpProbeConfig c = Config("/big");
  c.max_body_bytes = 64 * 1024;
  // The verdict comes from the prefix: the status alone passes...
  ProbeResult r = RunConfig(c, seconds(10));
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_EQ(r.http_status, 200);
  // ...a pattern found in the prefix passes, one beyond it fails.
  c.expect_body = "^x+$";
  r = RunConfig(c, seconds(10));
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  c.expect_body = "y";
  r = RunConfig(c, seconds(10));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "body did not match in the first 65536 bytes");
}

TEST_F(HttpProbeTest, LargeBodyRegexDoesNotExhaustTheStack) {
  StartServer();
  HttpProbeConfig c = Config("/big");
  c.max_body_bytes = 1 << 20;
  // std::regex_search as is would retry this from every offset (hours) or
  // recurse once per byte (a crash).
  c.expect_body = ".*y";
  HttpProbe probe(c, multi_.get(), resolver_.get());
  ProbeResult r = Run(probe, seconds(20), seconds(120));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_TRUE(StartsWith(r.reason, "body did not match")) << r.reason;
}

TEST_F(HttpProbeTest, NonHttpAnswers) {
  StartServer();
  ProbeResult garbage = RunConfig(Config("/garbage"));
  EXPECT_EQ(garbage.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(garbage.reason, "malformed response");
  ProbeResult closed = RunConfig(Config("/close"));
  EXPECT_EQ(closed.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(closed.reason, "empty reply");
}

TEST_F(HttpProbeTest, HttpsWithoutVerification) {
  MakeCertificate();
  StartServer({"--tls-cert", cert_, "--tls-key", key_});
  HttpProbeConfig c = Config("/ok");
  c.url = "https://127.0.0.1:" + std::to_string(port_) + "/ok";
  c.tls_verify = false;
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  ASSERT_TRUE(r.ssl_earliest_cert_expiry.has_value());
  double expected = static_cast<double>(time(nullptr)) + 30 * 86400;
  EXPECT_NEAR(*r.ssl_earliest_cert_expiry, expected, 86400);
}

TEST_F(HttpProbeTest, ReusedTlsConnectionStillReportsExpiry) {
  MakeCertificate();
  StartServer({"--tls-cert", cert_, "--tls-key", key_});
  HttpProbeConfig c;
  c.url = "https://127.0.0.1:" + std::to_string(port_) + "/conn-id";
  c.tls_verify = false;
  c.reuse_connection = true;
  c.expect_body = "^1$";  // the first connection the server accepted
  HttpProbe probe(c, multi_.get(), resolver_.get());
  ProbeResult first = Run(probe);
  EXPECT_EQ(first.outcome, ProbeOutcome::kSuccess) << first.reason;
  ProbeResult second = Run(probe);
  EXPECT_EQ(second.outcome, ProbeOutcome::kSuccess) << second.reason;
  ASSERT_TRUE(first.ssl_earliest_cert_expiry.has_value());
  EXPECT_EQ(second.ssl_earliest_cert_expiry, first.ssl_earliest_cert_expiry);
}

TEST_F(HttpProbeTest, HttpsVerification) {
  MakeCertificate();
  StartServer({"--tls-cert", cert_, "--tls-key", key_});
  HttpProbeConfig c;
  c.url = "https://localhost:" + std::to_string(port_) + "/ok";
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_TRUE(Contains(r.reason, "certificate")) << r.reason;
  EXPECT_FALSE(r.ssl_earliest_cert_expiry.has_value());  // no handshake

  c.ca_file = cert_;
  r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_TRUE(r.ssl_earliest_cert_expiry.has_value());

  // The certificate names localhost, not 127.0.0.1.
  c.url = "https://127.0.0.1:" + std::to_string(port_) + "/ok";
  r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_TRUE(StartsWith(r.reason, "certificate verify failed")) << r.reason;
}

TEST_F(HttpProbeTest, PlainHttpToATlsServerFails) {
  MakeCertificate();
  StartServer({"--tls-cert", cert_, "--tls-key", key_});
  ProbeResult r = RunConfig(Config("/ok"));
  EXPECT_NE(r.outcome, ProbeOutcome::kSuccess);
  EXPECT_FALSE(r.reason.empty());
}

TEST_F(HttpProbeTest, HostNamesGoThroughTheResolver) {
  StartServer();
  HttpProbe probe(Config("/ok", "localhost"), multi_.get(), resolver_.get());
  ProbeResult r = Run(probe);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_TRUE(r.dns_lookup_seconds.has_value());
  // Again, with the answer (and curl's resolve list) already known.
  r = Run(probe);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
}

TEST_F(HttpProbeTest, UnresolvableHostFails) {
  // A DNS "server" on a closed port: every query is refused at once.
  auto resolver = Resolver::Create(
      &loop_, "127.0.0.1:" + std::to_string(testing::FreePort(true)));
  ASSERT_TRUE(resolver.ok()) << resolver.status().message();
  HttpProbeConfig c;
  c.url = "http://service.example.invalid/ok";
  HttpProbe probe(c, multi_.get(), resolver->get());
  ProbeResult r = Run(probe, seconds(5), seconds(60));
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_TRUE(StartsWith(r.reason, "could not resolve host: ")) << r.reason;
}

// Answers every name at once, with NXDOMAIN (as a negative cache hit does).
class InstantNxdomainResolver : public Resolver {
 public:
  RequestId Resolve(const std::string&, ResolveCallback cb) override {
    ResolveAnswer answer;
    answer.status = Status::Error("NXDOMAIN");
    answer.from_cache = true;
    cb(answer);
    return ++last_id_;
  }
  RequestId Query(const std::string&, const std::string&,
                  QueryCallback) override {
    ADD_FAILURE() << "an http probe never queries";
    return ++last_id_;
  }
  void Cancel(RequestId) override {}

 private:
  RequestId last_id_ = 0;
};

TEST_F(HttpProbeTest, ImmediateAnswerMayEndTheProbesLife) {
  InstantNxdomainResolver resolver;
  HttpProbeConfig c;
  c.url = "http://service.example.invalid/ok";
  auto probe = std::make_unique<HttpProbe>(c, multi_.get(), &resolver);
  std::optional<ProbeResult> result;
  probe->Start(seconds(5), [&](ProbeResult r) {
    result = std::move(r);
    probe.reset();  // the owner may drop the probe from its callback
  });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(result->reason, "could not resolve host: NXDOMAIN");
  EXPECT_FALSE(result->dns_lookup_seconds.has_value());  // from the cache
  EXPECT_EQ(probe, nullptr);
}

// As a Check does: each `done` cancels the probe (a no-op by then) and
// starts its next run at once, the last one destroys it. On both paths, by
// name, and where runs end before Start returns (a bad URL, an instant
// negative answer).
TEST_F(HttpProbeTest, DoneMayCancelRestartAndDestroyTheProbe) {
  StartServer();
  InstantNxdomainResolver instant;
  struct Case {
    HttpProbeConfig config;
    Resolver* resolver;
    ProbeOutcome want;
  };
  std::vector<Case> cases = {
      {Config("/ok"), resolver_.get(), ProbeOutcome::kSuccess},
      {Config("/ok", "localhost"), resolver_.get(), ProbeOutcome::kSuccess},
      {Config("/ok"), resolver_.get(), ProbeOutcome::kSuccess},
      {Config("/ok"), resolver_.get(), ProbeOutcome::kError},
      {Config("/ok", "name.invalid"), &instant, ProbeOutcome::kFailure},
  };
  cases[2].config.reuse_connection = true;  // through curl
  cases[3].config.url = "gopher://127.0.0.1/";
  for (const Case& c : cases) {
    std::vector<ProbeResult> results = testing::RunRestartingFromDone(
        std::make_unique<HttpProbe>(c.config, multi_.get(), c.resolver), loop_,
        seconds(5));
    ASSERT_EQ(results.size(), 3u) << c.config.url;
    for (const ProbeResult& r : results) {
      EXPECT_EQ(r.outcome, c.want) << c.config.url << ": " << r.reason;
    }
  }
  EXPECT_EQ(multi_->in_flight(), 0u);
}

// An NXDOMAIN reply to a DNS query: its header and question, echoed.
std::string NxdomainReply(const std::string& query) {
  size_t end = 12;  // the header; then the question's name, type and class
  while (end < query.size() && query[end] != 0) {
    end += 1 + static_cast<unsigned char>(query[end]);
  }
  end += 1 + 4;
  if (end > query.size()) return "";
  std::string reply = query.substr(0, end);
  reply[2] = static_cast<char>(0x80 | (reply[2] & 0x01));  // QR, RD echoed
  reply[3] = static_cast<char>(0x80 | 3);                  // RA, NXDOMAIN
  for (size_t i = 4; i < 12; ++i) reply[i] = 0;
  reply[5] = 1;  // one question, no records
  return reply;
}

TEST_F(HttpProbeTest, CancelDuringResolution) {
  // A DNS server that answers only when told.
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  struct Query {
    sockaddr_in from;
    std::string bytes;
  };
  std::vector<Query> queries;  // read, not yet answered
  auto read_queries = [&] {
    for (;;) {
      char buf[512];
      Query q{};
      socklen_t from_len = sizeof(q.from);
      ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
                           reinterpret_cast<sockaddr*>(&q.from), &from_len);
      if (n <= 0) break;
      q.bytes.assign(buf, n);
      queries.push_back(std::move(q));
    }
    return !queries.empty();
  };
  auto answer_all = [&] {
    for (const Query& q : queries) {
      std::string reply = NxdomainReply(q.bytes);
      sendto(fd, reply.data(), reply.size(), 0,
             reinterpret_cast<const sockaddr*>(&q.from), sizeof(q.from));
    }
    queries.clear();
  };
  auto resolver = Resolver::Create(
      &loop_, "127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  ASSERT_TRUE(resolver.ok()) << resolver.status().message();
  const std::string host = "service.example.invalid";
  HttpProbeConfig c;
  c.url = "http://" + host + "/ok";
  {
    HttpProbe probe(c, multi_.get(), resolver->get());
    bool called = false;
    probe.Start(seconds(30), [&](ProbeResult) { called = true; });
    // The question is out and unanswered: the run waits on it.
    ASSERT_TRUE(RunUntil(read_queries));
    ASSERT_TRUE(testing::RunLoopPastPending(loop_));
    EXPECT_FALSE(called);
    probe.Cancel();
    // Asked again, the name joins the cancelled run's lookup; the server
    // answers it now, after the cancel. This request's answer marks when
    // the cancelled run's would have come.
    std::optional<ResolveAnswer> again;
    (*resolver)->Resolve(host, [&](const ResolveAnswer& a) { again = a; });
    ASSERT_TRUE(RunUntil([&] {
      read_queries();
      answer_all();
      return again.has_value();
    }));
    EXPECT_FALSE(again->status.ok());
    EXPECT_FALSE(again->from_cache);
    ASSERT_TRUE(RunPastTimeout(seconds(30)));
    EXPECT_FALSE(called);
  }
  close(fd);
}

TEST_F(HttpProbeTest, PlainHttpNeedsNoCurlHandle) {
  StartServer();
  HttpProbe probe(Config("/ok"), multi_.get(), resolver_.get());
  EXPECT_EQ(Run(probe).outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(multi_->idle_handles(), 0u) << "the lean client served the run";
}

TEST_F(HttpProbeTest, LeanRequestLooksLikeCurls) {
  StartServer();
  HttpProbeConfig c = Config("/echo-headers?a=1&b=2");
  c.expect_body =
      "^GET /echo-headers\\?a=1&b=2 HTTP/1.1\n"
      "Host: 127.0.0.1:[0-9]+\n"
      "User-Agent: watchd/[^\n]+\n"
      "Accept: \\*/\\*\n"
      "Connection: close\n";
  ProbeResult r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  // A configured header replaces a default one; Connection stays "close".
  c.headers = {{"User-Agent", "probe/1"}, {"Connection", "keep-alive"}};
  c.expect_body =
      "\nAccept: \\*/\\*\nConnection: close\nUser-Agent: probe/1\n\n";
  r = RunConfig(c);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
}

TEST_F(HttpProbeTest, Ipv6Literal) {
  StartServer({"--host", "::1"});
  ProbeResult r = RunConfig(Config("/ok", "[::1]"));
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
}

TEST_F(HttpProbeTest, ManyConcurrentProbesAllComplete) {
  StartServer();
  constexpr int kProbes = 200;
  std::vector<std::unique_ptr<HttpProbe>> probes;
  int done = 0;
  int passed = 0;
  for (int i = 0; i < kProbes; ++i) {
    probes.push_back(std::make_unique<HttpProbe>(Config("/ok"), multi_.get(),
                                                 resolver_.get()));
  }
  for (auto& probe : probes) {
    probe->Start(seconds(30), [&](ProbeResult r) {
      ++done;
      if (r.outcome == ProbeOutcome::kSuccess) ++passed;
    });
  }
  ASSERT_TRUE(RunUntil([&] { return done == kProbes; }, seconds(60)));
  EXPECT_EQ(passed, kProbes);
  EXPECT_EQ(multi_->in_flight(), 0u);
  EXPECT_LE(multi_->idle_handles(), CurlMulti::kDefaultMaxIdleHandles);
}

// The server numbers its connections; a plain GET before and after the
// probe's runs tells how many connections the runs opened.
class ConnectionCountTest : public HttpProbeTest {
 protected:
  int ConnectionId() {
    auto body = testing::HttpGet(port_, "/conn-id");
    EXPECT_TRUE(body.has_value());
    return body ? std::stoi(*body) : -1;
  }

  int ConnectionsOpenedBy(bool reuse, int runs) {
    HttpProbeConfig c = Config("/conn-id");
    c.reuse_connection = reuse;
    HttpProbe probe(c, multi_.get(), resolver_.get());
    int before = ConnectionId();
    for (int i = 0; i < runs; ++i) {
      EXPECT_EQ(Run(probe).outcome, ProbeOutcome::kSuccess);
    }
    return ConnectionId() - before - 1;
  }
};

TEST_F(ConnectionCountTest, FreshConnectionPerRunByDefault) {
  StartServer();
  EXPECT_EQ(ConnectionsOpenedBy(false, 3), 3);
}

TEST_F(ConnectionCountTest, ReuseConnectionKeepsOne) {
  StartServer();
  EXPECT_EQ(ConnectionsOpenedBy(true, 3), 1);
}

TEST_F(HttpProbeTest, RunsReuseOnePooledHandle) {
  StartServer();
  HttpProbeConfig c = Config("/ok");
  c.reuse_connection = true;  // curl's path; plain http uses no handle
  HttpProbe probe(c, multi_.get(), resolver_.get());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Run(probe).outcome, ProbeOutcome::kSuccess);
  }
  EXPECT_EQ(multi_->idle_handles(), 1u);
}

}  // namespace
}  // namespace watchd
