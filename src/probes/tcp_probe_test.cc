#include "probes/tcp_probe.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/net.h"
#include "tests/support/probe_reentry.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

int OpenFds() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    ++n;
  }
  return n;
}

// A listening socket of the test itself: the kernel completes handshakes
// (up to the backlog) without anyone accepting.
class Listener {
 public:
  Listener(const std::string& ip, int backlog = 16) {
    const bool v6 = ip.find(':') != std::string::npos;
    fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage addr{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
      len = sizeof(*a);
    }
    ok_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
          listen(fd_, backlog) == 0 &&
          getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                     : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  ~Listener() { close(fd_); }
  bool ok() const { return ok_; }
  int port() const { return port_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  bool ok_ = false;
};

// Accepts on a listener from the loop and closes each connection once the
// peer has closed or reset it; answers `reply` to the first bytes it reads.
class Acceptor {
 public:
  Acceptor(EventLoop* loop, int listen_fd, std::string reply)
      : loop_(loop), listen_fd_(listen_fd), reply_(std::move(reply)) {
    EXPECT_TRUE(loop_
                    ->Watch(listen_fd_, EPOLLIN,
                            [this](uint32_t) {
                              int fd = accept4(listen_fd_, nullptr, nullptr,
                                               SOCK_NONBLOCK | SOCK_CLOEXEC);
                              if (fd >= 0) Serve(fd);
                            })
                    .ok());
  }
  ~Acceptor() {
    loop_->Unwatch(listen_fd_);
    for (int fd : open_) loop_->UnwatchAndClose(fd);
  }
  size_t open() const { return open_.size(); }

 private:
  void Serve(int fd) {
    open_.insert(fd);
    EXPECT_TRUE(loop_
                    ->Watch(fd, EPOLLIN,
                            [this, fd](uint32_t) {
                              char buf[512];
                              ssize_t n = recv(fd, buf, sizeof(buf), 0);
                              if (n > 0) {
                                send(fd, reply_.data(), reply_.size(),
                                     MSG_NOSIGNAL);
                              } else if (n == 0 || errno != EAGAIN) {
                                open_.erase(fd);
                                loop_->UnwatchAndClose(fd);
                              }
                            })
                    .ok());
  }

  EventLoop* loop_;
  int listen_fd_;
  std::string reply_;
  std::set<int> open_;
};

// The IPv4 TCP sockets to or from `port` (/proc/net/tcp): those of
// connections to it (the client's side) in TIME_WAIT, and all the others
// but the listener, still open on either side.
struct PortSockets {
  int time_wait = 0;
  int syn_sent = 0;  // also counted in others
  int others = 0;
};

PortSockets SocketsOfPort(int port) {
  constexpr int kSynSent = 0x02;
  constexpr int kTimeWait = 0x06;
  constexpr int kListen = 0x0A;
  PortSockets counts;
  std::ifstream table("/proc/net/tcp");
  std::string line;
  std::getline(table, line);  // the header
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const int local_port =
        std::stoi(local.substr(local.find(':') + 1), nullptr, 16);
    const int remote_port =
        std::stoi(remote.substr(remote.find(':') + 1), nullptr, 16);
    const int st = std::stoi(state, nullptr, 16);
    if (remote_port == port && st == kTimeWait) {
      ++counts.time_wait;
    } else if ((remote_port == port || local_port == port) && st != kListen) {
      ++counts.others;
      if (remote_port == port && st == kSynSent) ++counts.syn_sent;
    }
  }
  return counts;
}

class TcpProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    auto resolver = Resolver::Create(&loop_);
    ASSERT_TRUE(resolver.ok());
    resolver_ = std::move(resolver).value();
  }

  // Starts tests/servers/tcp_server.py on 127.0.0.1; returns its port.
  int StartServer(const std::vector<std::string>& args) {
    const int port = testing::FreePort();
    const std::string ready = dir_.File("ready");
    std::vector<std::string> argv = {
        "python3",      testing::SourcePath("tests/servers/tcp_server.py"),
        "--port",       std::to_string(port),
        "--ready-file", ready};
    argv.insert(argv.end(), args.begin(), args.end());
    EXPECT_TRUE(server_.Start(argv, dir_.File("server.out")));
    EXPECT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(ready); },
                                 milliseconds(10000)));
    return port;
  }

  TcpProbeConfig Config(const std::string& host, int port,
                        std::optional<std::string> send = std::nullopt,
                        std::optional<std::string> expect = std::nullopt) {
    TcpProbeConfig config;
    config.host = host;
    config.port = port;
    config.send = std::move(send);
    config.expect = std::move(expect);
    return config;
  }

  std::optional<ProbeResult> Run(TcpProbe& probe) {
    std::optional<ProbeResult> result;
    probe.Start(seconds(5), [&](ProbeResult r) { result = std::move(r); });
    const TimePoint deadline = loop_.Now() + seconds(20);
    while (!result && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return result;
  }

  ProbeResult RunConfig(const TcpProbeConfig& config,
                        Resolver* resolver = nullptr) {
    TcpProbe probe(config, &loop_, resolver ? resolver : resolver_.get());
    std::optional<ProbeResult> result = Run(probe);
    EXPECT_TRUE(result.has_value()) << config.host << ":" << config.port;
    return result.value_or(ProbeResult::Error("no result"));
  }

  bool RunUntil(const std::function<bool()>& cond,
                Duration limit = seconds(20)) {
    const TimePoint deadline = loop_.Now() + limit;
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  // Jumps the loop's clock past a run's `timeout` and runs the loop past
  // all that was pending: anything the run was still due is then over.
  bool RunPastTimeout(Duration timeout) {
    clock_.Advance(timeout + seconds(1));
    return testing::RunLoopPastPending(loop_);
  }

  testing::SteppedClock clock_;
  EventLoop loop_{&clock_};
  testing::TempDir dir_;
  testing::Subprocess server_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(TcpProbeTest, ConnectsToAListener) {
  Listener listener("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  const int fds = OpenFds();
  TcpProbe probe(Config("127.0.0.1", listener.port()), &loop_, resolver_.get());
  for (int i = 0; i < 3; ++i) {
    std::optional<ProbeResult> result = Run(probe);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->outcome, ProbeOutcome::kSuccess) << result->reason;
    EXPECT_EQ(result->reason,
              "connected to 127.0.0.1:" + std::to_string(listener.port()));
  }
  EXPECT_EQ(OpenFds(), fds) << "the probe closes its sockets";
  pollfd pfd{listener.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1) << "connections wait to be accepted";
}

// A run closes with a reset once it is over, so no TIME_WAIT stays on
// watchd's side per run: at a few hundred runs a second against one address
// they would use up the ephemeral ports.
TEST_F(TcpProbeTest, RunsLeaveNoTimeWaitBehind) {
  Listener listener("127.0.0.1", /*backlog=*/128);
  ASSERT_TRUE(listener.ok());
  Acceptor acceptor(&loop_, listener.fd(), "250 ready\r\n");
  constexpr int kRuns = 50;
  for (const TcpProbeConfig& config :
       {Config("127.0.0.1", listener.port()),
        Config("127.0.0.1", listener.port(), "HELO\r\n", "^250 ready")}) {
    TcpProbe probe(config, &loop_, resolver_.get());
    for (int i = 0; i < kRuns; ++i) {
      std::optional<ProbeResult> result = Run(probe);
      ASSERT_TRUE(result.has_value());
      ASSERT_EQ(result->outcome, ProbeOutcome::kSuccess) << result->reason;
    }
  }
  // Once both sides are done with every connection, none lingers.
  ASSERT_TRUE(RunUntil([&] {
    return acceptor.open() == 0 && SocketsOfPort(listener.port()).others == 0;
  })) << SocketsOfPort(listener.port()).others
      << " sockets still open";
  EXPECT_EQ(SocketsOfPort(listener.port()).time_wait, 0);
}

TEST_F(TcpProbeTest, ClosedPortIsRefused) {
  ProbeResult result = RunConfig(Config("127.0.0.1", testing::FreePort()));
  EXPECT_EQ(result.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(result.reason, "connection refused");
}

TEST_F(TcpProbeTest, SendAndExpect) {
  const int port = StartServer({"--mode", "reply", "--reply", "+PONG\\r\\n"});
  ProbeResult ok = RunConfig(Config("127.0.0.1", port, "PING\r\n", "^\\+PONG"));
  EXPECT_EQ(ok.outcome, ProbeOutcome::kSuccess) << ok.reason;
  EXPECT_EQ(ok.reason, "connected to 127.0.0.1:" + std::to_string(port) +
                           ", matched /^\\+PONG/");

  ProbeResult mismatch =
      RunConfig(Config("127.0.0.1", port, "PING\r\n", "HELLO"));
  EXPECT_EQ(mismatch.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(mismatch.reason, "expected /HELLO/ not found in response");
}

TEST_F(TcpProbeTest, ExpectWithoutSendReadsTheBanner) {
  const int port =
      StartServer({"--mode", "banner", "--banner", "SSH-2.0-test\\r\\n"});
  ProbeResult result =
      RunConfig(Config("127.0.0.1", port, std::nullopt, "^SSH-2\\.0-"));
  EXPECT_EQ(result.outcome, ProbeOutcome::kSuccess) << result.reason;
}

TEST_F(TcpProbeTest, LargeSendIsWrittenInPieces) {
  const int port = StartServer({"--mode", "reply", "--reply", "got {n}\\n"});
  // More than a socket buffer holds, so writes stop and resume on EPOLLOUT.
  std::string payload(8 << 20, 'x');
  payload += "\n";
  ProbeResult result =
      RunConfig(Config("127.0.0.1", port, payload,
                       "^got " + std::to_string(payload.size()) + "\\n"));
  EXPECT_EQ(result.outcome, ProbeOutcome::kSuccess) << result.reason;
}

TEST_F(TcpProbeTest, ReadingStopsAtTheLimit) {
  const int port = StartServer({"--mode", "flood"});
  ProbeResult result =
      RunConfig(Config("127.0.0.1", port, std::nullopt, ".*PONG"));
  EXPECT_EQ(result.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(result.reason,
            "expected /.*PONG/ not found in the first 65536 bytes");
}

TEST_F(TcpProbeTest, Ipv6Literal) {
  Listener listener("::1");
  ASSERT_TRUE(listener.ok());
  ProbeResult result = RunConfig(Config("::1", listener.port()));
  EXPECT_EQ(result.outcome, ProbeOutcome::kSuccess) << result.reason;
  EXPECT_EQ(result.reason,
            "connected to [::1]:" + std::to_string(listener.port()));
}

TEST_F(TcpProbeTest, HostNameThroughTheResolver) {
  Listener listener("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  ProbeResult result = RunConfig(Config("localhost", listener.port()));
  EXPECT_EQ(result.outcome, ProbeOutcome::kSuccess) << result.reason;
  EXPECT_EQ(result.reason,
            "connected to 127.0.0.1:" + std::to_string(listener.port()));
}

// A name with an IPv4 and an IPv6 address, served by the test DNS server;
// only the IPv6 one listens: the probe moves on to it.
TEST_F(TcpProbeTest, TriesEachAddressOfAName) {
  Listener listener("::1");
  ASSERT_TRUE(listener.ok());
  const int dns_port = testing::FreePort(/*udp=*/true);
  const std::string log = dir_.File("dns.log");
  testing::Subprocess dns;
  ASSERT_TRUE(dns.Start(
      {"python3", testing::SourcePath("tests/servers/dns_server.py"), "--port",
       std::to_string(dns_port), "--log-file", log, "--record",
       "both.test A 60 127.0.0.1", "--record", "both.test AAAA 60 ::1"},
      dir_.File("dns.out")));
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(log); },
                               milliseconds(10000)));
  auto resolver =
      Resolver::Create(&loop_, "127.0.0.1:" + std::to_string(dns_port));
  ASSERT_TRUE(resolver.ok());

  ProbeResult result =
      RunConfig(Config("both.test", listener.port()), resolver->get());
  EXPECT_EQ(result.outcome, ProbeOutcome::kSuccess) << result.reason;
  EXPECT_EQ(result.reason,
            "connected to [::1]:" + std::to_string(listener.port()));

  ProbeResult missing =
      RunConfig(Config("missing.test", listener.port()), resolver->get());
  EXPECT_EQ(missing.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(missing.reason, "cannot resolve missing.test: NXDOMAIN");
}

TEST_F(TcpProbeTest, FullBacklogStaysInFlightUntilCancelled) {
  Listener listener("127.0.0.1", /*backlog=*/0);
  ASSERT_TRUE(listener.ok());
  // One connection fills the accept queue; later handshakes get no answer.
  int filler = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(listener.port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  pollfd pfd{filler, POLLOUT, 0};
  ASSERT_EQ(poll(&pfd, 1, 5000), 1);
  ASSERT_EQ(SocketsOfPort(listener.port()).syn_sent, 0);

  const int fds = OpenFds();
  TcpProbe probe(Config("127.0.0.1", listener.port()), &loop_, resolver_.get());
  int calls = 0;
  probe.Start(seconds(2), [&](ProbeResult) { ++calls; });
  // Its handshake unanswered, past its timeout: still in flight (the Check,
  // not the probe, ends the run), with nothing arrived it could have missed.
  ASSERT_EQ(SocketsOfPort(listener.port()).syn_sent, 1);
  ASSERT_TRUE(RunPastTimeout(seconds(2)));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(SocketsOfPort(listener.port()).syn_sent, 1) << "still unanswered";
  EXPECT_EQ(OpenFds(), fds + 1) << "the probe's socket";
  probe.Cancel();
  EXPECT_EQ(OpenFds(), fds);
  // Its socket gone from the kernel, no answer can reach the run.
  EXPECT_TRUE(
      RunUntil([&] { return SocketsOfPort(listener.port()).syn_sent == 0; },
               seconds(10)));
  ASSERT_TRUE(RunPastTimeout(seconds(2)));
  EXPECT_EQ(calls, 0);
  close(filler);
}

TEST_F(TcpProbeTest, SilentPeerStaysInFlightUntilCancelled) {
  Listener listener("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  int peer = -1;  // the server's end, played by the test
  std::string heard;
  auto hear = [&] {
    if (peer < 0) {
      pollfd pfd{listener.fd(), POLLIN, 0};
      if (poll(&pfd, 1, 0) != 1) return;
      peer = accept4(listener.fd(), nullptr, nullptr,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (peer < 0) return;
    }
    char buf[512];
    ssize_t n;
    while ((n = recv(peer, buf, sizeof(buf), 0)) > 0) heard.append(buf, n);
  };
  const int fds = OpenFds();
  int calls = 0;
  {
    TcpProbe probe(Config("127.0.0.1", listener.port(), "hello\n", "never"),
                   &loop_, resolver_.get());
    probe.Start(seconds(2), [&](ProbeResult) { ++calls; });
    // All sent, nothing answered, past its timeout: the run waits to read.
    ASSERT_TRUE(RunUntil([&] {
      hear();
      return heard == "hello\n";
    }));
    ASSERT_TRUE(RunPastTimeout(seconds(2)));
    EXPECT_EQ(calls, 0);
  }  // destroyed in flight
  EXPECT_EQ(OpenFds(), fds + 1) << "only the peer's end is left";
  // The peer answers what the run waited for, then sees that the probe's
  // end is gone: the answer can reach no one.
  send(peer, "never\n", 6, MSG_NOSIGNAL);
  EXPECT_TRUE(RunUntil(
      [&] {
        char buf[512];
        ssize_t n = recv(peer, buf, sizeof(buf), 0);
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
      },
      seconds(10)));
  ASSERT_TRUE(RunPastTimeout(seconds(2)));
  EXPECT_EQ(calls, 0);
  close(peer);
}

TEST_F(TcpProbeTest, BadExpectIsAnError) {
  TcpProbe probe(Config("127.0.0.1", 1, std::nullopt, "(a)\\1"), &loop_,
                 resolver_.get());
  std::optional<ProbeResult> result;
  probe.Start(seconds(2), [&](ProbeResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, ProbeOutcome::kError);
  EXPECT_EQ(result->reason,
            "bad expect /(a)\\1/: back-references are not supported");
}

TEST_F(TcpProbeTest, ADoneCallbackMayDestroyTheProbe) {
  Listener listener("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  auto probe = std::make_unique<TcpProbe>(Config("127.0.0.1", listener.port()),
                                          &loop_, resolver_.get());
  std::optional<ProbeResult> result;
  probe->Start(seconds(2), [&](ProbeResult r) {
    result = std::move(r);
    probe.reset();
  });
  const TimePoint deadline = loop_.Now() + seconds(20);
  while (!result && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(probe, nullptr);
}

// As a Check does: each `done` cancels the probe (a no-op by then) and
// starts its next run at once, the last one destroys it. Names from
// /etc/hosts and bad configurations end runs before Start returns.
TEST_F(TcpProbeTest, DoneMayCancelRestartAndDestroyTheProbe) {
  Listener listener("127.0.0.1");
  ASSERT_TRUE(listener.ok());
  Acceptor acceptor(&loop_, listener.fd(), "+OK\r\n");
  for (const TcpProbeConfig& config :
       {Config("127.0.0.1", listener.port()),
        Config("localhost", listener.port(), "PING\r\n", "^\\+OK"),
        Config("127.0.0.1", listener.port(), std::nullopt, "(a)\\1")}) {
    std::vector<ProbeResult> results = testing::RunRestartingFromDone(
        std::make_unique<TcpProbe>(config, &loop_, resolver_.get()), loop_,
        seconds(2));
    ASSERT_EQ(results.size(), 3u) << config.host;
    const ProbeOutcome want = config.expect == "(a)\\1"
                                  ? ProbeOutcome::kError
                                  : ProbeOutcome::kSuccess;
    for (const ProbeResult& r : results) {
      EXPECT_EQ(r.outcome, want) << config.host << ": " << r.reason;
    }
  }
}

}  // namespace
}  // namespace watchd
