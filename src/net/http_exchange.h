// One HTTP/1.x request and its response over a fresh TCP connection, driven
// by the EventLoop with nothing between the socket and the parser: the
// fast path of plain-http probes, which with libcurl cost twice the CPU and
// three times the system calls (see docs/architecture.md). The request is
// sent as given; the response goes into the caller's parser.
#ifndef WATCHD_NET_HTTP_EXCHANGE_H_
#define WATCHD_NET_HTTP_EXCHANGE_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "net/socket_address.h"

namespace watchd {

class EventLoop;
class HttpResponseParser;
class SocketPool;

class HttpExchange {
 public:
  enum class End {
    kResponse,  // the parser reached a final state (done, cut or malformed)
    kRemote,    // the connection failed: refused, unreachable, reset...
    kLocal,     // watchd could not try: out of fds, no local port...
  };
  // reason: empty for kResponse, else short and human ("connection
  // refused"). Called once, maybe before Start returns; the exchange is not
  // touched after it, so it may destroy or restart the exchange.
  using DoneCallback = std::function<void(End end, std::string reason)>;

  // With `sockets`, connections are made on sockets taken from it and given
  // back after a response; it must outlive the exchange.
  explicit HttpExchange(EventLoop* loop, SocketPool* sockets = nullptr)
      : loop_(loop), sockets_(sockets) {}
  ~HttpExchange() { Cancel(); }
  HttpExchange(const HttpExchange&) = delete;
  HttpExchange& operator=(const HttpExchange&) = delete;

  // Connects to addresses[0..count) in turn until one accepts, sends
  // `request` and feeds the answer to `parser`. addresses, request and
  // parser must stay valid until `done` runs or Cancel(). Not while busy.
  void Start(const SocketAddress* addresses, size_t count,
             std::string_view request, HttpResponseParser* parser,
             DoneCallback done);
  // Closes the connection; `done` is not called. A no-op when idle.
  void Cancel();
  bool busy() const { return done_ != nullptr; }
  // Where a busy exchange is, for a timeout's reason: "connecting",
  // "sending request", "waiting for response" or "reading body".
  const char* Phase() const;

 private:
  void Connect();
  // The connection to the current address failed with errno `err` before
  // any byte was sent: tries the next address or ends.
  void ConnectFailed(int err);
  void Send();
  void Receive();
  void OnEvent(uint32_t events);
  void Watch(uint32_t events);  // ends the exchange when the loop refuses
  void Finish(End end, std::string reason);
  // Gives the socket back to sockets_ when `reuse`, else closes it.
  void CloseSocket(bool reuse = false);

  EventLoop* loop_;
  SocketPool* sockets_;
  const SocketAddress* addresses_ = nullptr;
  size_t count_ = 0;
  size_t current_ = 0;
  std::string_view request_;
  size_t sent_ = 0;
  HttpResponseParser* parser_ = nullptr;
  DoneCallback done_;
  int fd_ = -1;
  uint32_t watching_ = 0;  // events the loop watches fd_ for; 0: none
};

}  // namespace watchd

#endif  // WATCHD_NET_HTTP_EXCHANGE_H_
