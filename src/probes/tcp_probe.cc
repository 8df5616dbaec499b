#include "probes/tcp_probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "core/event_loop.h"
#include "net/socket_address.h"

namespace watchd {

TcpProbe::TcpProbe(const TcpProbeConfig& config, EventLoop* loop,
                   Resolver* resolver)
    : config_(config), loop_(loop), resolver_(resolver) {
  if (config_.expect) {
    Result<ExpectRegex> re = ExpectRegex::Compile(*config_.expect);
    if (re.ok()) {
      expect_ = std::move(re).value();
    } else {
      expect_error_ =
          "bad expect /" + *config_.expect + "/: " + re.status().message();
    }
  }
}

void TcpProbe::Start(Duration /*timeout*/, DoneCallback done) {
  if (!expect_error_.empty()) {
    done(ProbeResult::Error(expect_error_));
    return;
  }
  done_ = std::move(done);
  state_ = State::kResolving;
  addresses_.clear();
  next_address_ = 0;
  first_error_.clear();
  const uint64_t run = ++runs_;
  std::weak_ptr<int> alive = alive_;
  Resolver::RequestId id = resolver_->Resolve(
      config_.host,
      [this](const ResolveAnswer& answer) { OnResolved(answer); });
  // IP literals and cached names answer at once, maybe ending the run.
  if (alive.expired() || runs_ != run || state_ != State::kResolving) return;
  request_ = id;
}

void TcpProbe::Cancel() {
  if (state_ == State::kIdle) return;
  if (request_) resolver_->Cancel(*request_);
  request_.reset();
  CloseSocket();
  state_ = State::kIdle;
  done_ = nullptr;
}

void TcpProbe::OnResolved(const ResolveAnswer& answer) {
  request_.reset();
  if (!answer.status.ok()) {
    Finish(ProbeResult::Failure("cannot resolve " + config_.host + ": " +
                                answer.status.message()));
    return;
  }
  addresses_ = answer.addresses;
  ConnectNext();
}

void TcpProbe::ConnectNext() {
  while (next_address_ < addresses_.size()) {
    const std::string& ip = addresses_[next_address_++];
    SocketAddress addr;
    if (!addr.Set(ip, config_.port)) continue;
    const int family = addr.family();
    peer_ = (family == AF_INET6 ? "[" + ip + "]" : ip) + ":" +
            std::to_string(config_.port);
    fd_ = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      Finish(ProbeResult::Error(std::string("socket: ") + strerror(errno)));
      return;
    }
    if (connect(fd_, &addr.storage.any, addr.length) == 0) {
      OnConnected();
      return;
    }
    if (errno == EINPROGRESS) {
      state_ = State::kConnecting;
      if (WatchFor(EPOLLOUT)) return;
      Finish(ProbeResult::Error("cannot watch socket"));
      return;
    }
    if (first_error_.empty()) first_error_ = SocketErrorReason(errno);
    CloseSocket();
  }
  Finish(ProbeResult::Failure(
      first_error_.empty() ? "no address for " + config_.host : first_error_));
}

void TcpProbe::OnReady(uint32_t events) {
  switch (state_) {
    case State::kConnecting: {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err == 0 && (events & EPOLLERR) != 0) err = ECONNRESET;
      if (err == 0) {
        OnConnected();
        return;
      }
      if (first_error_.empty()) first_error_ = SocketErrorReason(err);
      CloseSocket();
      ConnectNext();
      return;
    }
    case State::kSending:
      Send();
      return;
    case State::kReading:
      Receive();
      return;
    case State::kIdle:
    case State::kResolving:
      return;
  }
}

void TcpProbe::OnConnected() {
  connected_ = true;
  if (config_.send && !config_.send->empty()) {
    state_ = State::kSending;
    sent_ = 0;
    Send();
    return;
  }
  AfterSend();
}

void TcpProbe::Send() {
  const std::string& data = *config_.send;
  while (sent_ < data.size()) {
    ssize_t n =
        send(fd_, data.data() + sent_, data.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WatchFor(EPOLLOUT))
        Finish(ProbeResult::Error("cannot watch socket"));
      return;
    } else if (errno != EINTR) {
      Finish(ProbeResult::Failure("send to " + peer_ + ": " +
                                  SocketErrorReason(errno)));
      return;
    }
  }
  AfterSend();
}

void TcpProbe::AfterSend() {
  if (!expect_) {
    Finish(ProbeResult::Success("connected to " + peer_));
    return;
  }
  state_ = State::kReading;
  received_.clear();
  if (!WatchFor(EPOLLIN)) Finish(ProbeResult::Error("cannot watch socket"));
}

void TcpProbe::Receive() {
  char buf[16384];
  while (received_.size() < kMaxRead) {
    const size_t want = std::min(sizeof(buf), kMaxRead - received_.size());
    ssize_t n = recv(fd_, buf, want, 0);
    if (n > 0) {
      received_.append(buf, static_cast<size_t>(n));
      if (expect_->Search(received_)) {
        Finish(ProbeResult::Success("connected to " + peer_ + ", matched /" +
                                    expect_->pattern() + "/"));
        return;
      }
    } else if (n == 0) {
      Finish(ProbeResult::Failure(NotFound() + " in response"));
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      Finish(ProbeResult::Failure(NotFound() + " in response (" +
                                  SocketErrorReason(errno) + ")"));
      return;
    }
  }
  Finish(ProbeResult::Failure(NotFound() + " in the first " +
                              std::to_string(kMaxRead) + " bytes"));
}

std::string TcpProbe::NotFound() const {
  return "expected /" + expect_->pattern() + "/ not found";
}

bool TcpProbe::WatchFor(uint32_t events) {
  if (watching_ == events) return true;
  if (!loop_->Watch(fd_, events, [this](uint32_t ready) { OnReady(ready); })
           .ok()) {
    return false;
  }
  watching_ = events;
  return true;
}

void TcpProbe::CloseSocket() {
  if (fd_ < 0) return;
  if (connected_) {
    // Reset rather than FIN, as HttpExchange does: closing first would
    // leave a TIME_WAIT here per run, and a few hundred runs a second
    // against one address use up the ephemeral ports. Only ever closed once
    // the run is over (send and expect done) or abandoned, so nothing the
    // probe still needed is lost.
    linger reset{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  connected_ = false;
  if (watching_ != 0) {
    loop_->UnwatchAndClose(fd_);
  } else {
    close(fd_);
  }
  watching_ = 0;
  fd_ = -1;
}

void TcpProbe::Finish(ProbeResult result) {
  CloseSocket();
  state_ = State::kIdle;
  request_.reset();
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  // Last: done may start the next run, cancel or destroy this probe.
  done(std::move(result));
}

}  // namespace watchd
