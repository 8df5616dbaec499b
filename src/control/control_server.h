// The control socket: a unix stream socket served on the event loop. It
// frames requests as lines, bounds their size, time and number, knows each
// peer's credentials (SO_PEERCRED), and hands every line to a handler that
// answers it now or later through a Responder.
#ifndef WATCHD_CONTROL_CONTROL_SERVER_H_
#define WATCHD_CONTROL_CONTROL_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "core/timer_wheel.h"

namespace watchd {

class EventLoop;

struct ControlPeer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

class ControlServer {
 private:
  struct Conn;

 public:
  // Answers one request, once; the rest of the client's lines wait for it.
  // May be kept and called later (a restart is answered when it ends).
  // Calling it after the client left, or after the server is gone, does
  // nothing.
  class Responder {
   public:
    Responder() = default;
    // `line` ends with a newline.
    void Send(std::string line);
    // Whether the client is still there to be answered.
    bool connected() const { return !conn_.expired(); }

   private:
    friend class ControlServer;
    explicit Responder(std::weak_ptr<Conn> conn) : conn_(std::move(conn)) {}
    std::weak_ptr<Conn> conn_;
  };

  // Called from the loop with one request line (no newline). The handler
  // must not destroy the server.
  using Handler = std::function<void(const ControlPeer& peer,
                                     const std::string& line, Responder)>;

  struct Options {
    std::string path;
    std::optional<gid_t> group;  // the socket's (and a new directory's) group
    // A client that sends no complete request for this long is answered
    // with an error and closed; so is one that reads no reply for as long.
    Duration idle_timeout = std::chrono::seconds(10);
    size_t max_clients = 256;
    size_t max_request_bytes = 64 * 1024;
  };

  ControlServer(EventLoop* loop, Options options, Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Creates the directory (0750) if missing, replaces a stale socket left
  // by a watchd that died, and listens (0660). Another watchd listening on
  // the path, or a path that is not a socket, is an error.
  Status Listen();
  size_t clients() const { return conns_.size(); }

 private:
  void OnAccept();
  void OnIo(Conn* conn, uint32_t events);
  void ReadFrom(Conn* conn);
  // Queues the client when a complete request waits (and it is not being
  // answered); answers malformed input at once.
  void Pump(Conn* conn);
  // Serves one queued request.
  void Dispatch();
  void Flush(Conn* conn);
  void UpdateInterest(Conn* conn);
  // Closing from inside a callback that holds `conn` is deferred.
  void Close(Conn* conn);
  void Reap();
  void OnIdle(Conn* conn);

  EventLoop* loop_;
  Options options_;
  Handler handler_;
  int listen_fd_ = -1;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::shared_ptr<Conn>> conns_;
  Timer reap_timer_;
  // Clients with a request waiting, served one per pass of the loop.
  std::deque<std::weak_ptr<Conn>> ready_;
  Timer dispatch_timer_;
  bool unlink_on_exit_ = false;
};

}  // namespace watchd

#endif  // WATCHD_CONTROL_CONTROL_SERVER_H_
