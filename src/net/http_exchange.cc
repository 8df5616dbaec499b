#include "net/http_exchange.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <utility>

#include "core/event_loop.h"
#include "net/http_response_parser.h"
#include "net/socket_pool.h"

namespace watchd {
namespace {

// One buffer for every exchange: the loop runs one callback at a time and
// each read is parsed before the next, so nothing outlives a callback.
thread_local char recv_buffer[16 * 1024];

bool RetriesNextAddress(int err) {
  return err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH ||
         err == ETIMEDOUT || err == EAFNOSUPPORT;
}

bool IsLocal(int err) {
  return err == EMFILE || err == ENFILE || err == EADDRNOTAVAIL ||
         err == ENOMEM || err == ENOBUFS || err == EAFNOSUPPORT;
}

// The words of the libcurl path, so a check reads the same either way.
std::string ConnectReason(int err) {
  switch (err) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EMFILE:
    case ENFILE:
    case EADDRNOTAVAIL:
    case ECONNRESET:
      return SocketErrorReason(err);
    case EPIPE:
      return SocketErrorReason(ECONNRESET);
    default:
      return "could not connect: " + SocketErrorReason(err);
  }
}

}  // namespace

void HttpExchange::Start(const SocketAddress* addresses, size_t count,
                         std::string_view request, HttpResponseParser* parser,
                         DoneCallback done) {
  addresses_ = addresses;
  count_ = count;
  current_ = 0;
  request_ = request;
  parser_ = parser;
  done_ = std::move(done);
  if (count_ == 0) {
    Finish(End::kLocal, "no address to connect to");
    return;
  }
  Connect();
}

void HttpExchange::Cancel() {
  CloseSocket();
  done_ = nullptr;
}

const char* HttpExchange::Phase() const {
  if (sent_ == 0) return "connecting";
  if (sent_ < request_.size()) return "sending request";
  return parser_->status() == 0 ? "waiting for response" : "reading body";
}

void HttpExchange::Connect() {
  const SocketAddress& to = addresses_[current_];
  sent_ = 0;
  fd_ = sockets_ != nullptr ? sockets_->Take(to.family()) : -1;
  if (fd_ < 0) {
    fd_ = socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      int err = errno;
      Finish(End::kLocal, IsLocal(err)
                              ? ConnectReason(err)
                              : std::string("socket: ") + strerror(err));
      return;
    }
    // Close with a reset, as HAProxy's checks do: the server keeps no
    // TIME_WAIT entry per probe (10,000 probes/s would overflow its table
    // of them within seconds), and both sides do less work than a FIN
    // exchange. Only ever closed after the whole response or on cancel.
    linger reset{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  }
  // The handshake's last ACK waits for the request and leaves with it
  // (HAProxy's tcp-smart-connect): one segment less, and the server is
  // woken once, with the request already there. Reset by every disconnect.
  int quickack = 0;
  setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &quickack, sizeof(quickack));
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&to.storage), to.length) !=
          0 &&
      errno != EINPROGRESS) {
    ConnectFailed(errno);
    return;
  }
  // Over loopback the handshake has usually completed inside connect(), so
  // sending at once saves a wake-up; if not, send() says EAGAIN.
  Send();
}

void HttpExchange::ConnectFailed(int err) {
  CloseSocket();
  if (RetriesNextAddress(err) && current_ + 1 < count_) {
    ++current_;
    Connect();
    return;
  }
  Finish(IsLocal(err) ? End::kLocal : End::kRemote, ConnectReason(err));
}

void HttpExchange::Send() {
  while (sent_ < request_.size()) {
    ssize_t n = send(fd_, request_.data() + sent_, request_.size() - sent_,
                     MSG_NOSIGNAL);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    int err = errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      Watch(EPOLLOUT);
      return;
    }
    // A connect that failed shows here first, with its own errno.
    if (sent_ == 0) {
      ConnectFailed(err);
    } else {
      Finish(End::kRemote, ConnectReason(err == ECONNRESET ? err : EPIPE));
    }
    return;
  }
  Watch(EPOLLIN | EPOLLRDHUP);
}

void HttpExchange::OnEvent(uint32_t events) {
  if (watching_ & EPOLLOUT) {
    if (events & EPOLLERR) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      ConnectFailed(err != 0 ? err : ECONNREFUSED);
      return;
    }
    Send();
    return;
  }
  Receive();
}

void HttpExchange::Receive() {
  for (;;) {
    ssize_t n = recv(fd_, recv_buffer, sizeof(recv_buffer), 0);
    if (n > 0) {
      parser_->Feed(std::string_view(recv_buffer, static_cast<size_t>(n)));
      if (parser_->final()) {
        Finish(End::kResponse, "");
        return;
      }
      // A short read emptied the socket: the loop reports more (or the
      // close) without a recv() that would only say EAGAIN.
      if (static_cast<size_t>(n) < sizeof(recv_buffer)) return;
      continue;
    }
    if (n == 0) {
      parser_->Finish();
      Finish(End::kResponse, "");
      return;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    Finish(End::kRemote, err == ECONNRESET
                             ? ConnectReason(err)
                             : std::string("recv: ") + strerror(err));
    return;
  }
}

void HttpExchange::Watch(uint32_t events) {
  if (watching_ == events) return;
  Status s = loop_->Watch(fd_, events, [this](uint32_t ev) { OnEvent(ev); });
  if (!s.ok()) {
    Finish(End::kLocal, s.message());
    return;
  }
  watching_ = events;
}

void HttpExchange::Finish(End end, std::string reason) {
  CloseSocket(end == End::kResponse);
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  // Last: done may restart or destroy this exchange.
  done(end, std::move(reason));
}

void HttpExchange::CloseSocket(bool reuse) {
  if (fd_ < 0) return;
  if (reuse && sockets_ != nullptr) {
    if (watching_ != 0) loop_->Unwatch(fd_);
    sockets_->Give(fd_, addresses_[current_].family());
  } else if (watching_ != 0) {
    loop_->UnwatchAndClose(fd_);
  } else {
    close(fd_);
  }
  fd_ = -1;
  watching_ = 0;
}

}  // namespace watchd
