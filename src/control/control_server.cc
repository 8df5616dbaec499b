#include "control/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <utility>

#include "control/protocol.h"
#include "core/event_loop.h"

namespace watchd {

struct ControlServer::Conn {
  ControlServer* server = nullptr;
  uint64_t id = 0;
  int fd = -1;
  ControlPeer peer;
  std::string in;
  std::string out;
  size_t out_pos = 0;
  bool awaiting = false;     // a line is with the handler, unanswered
  bool read_closed = false;  // the client shut its side (or sent too much)
  bool closing = false;      // close once `out` is written
  bool hung_up = false;      // both directions gone (EPOLLHUP)
  bool dead = false;
  Timer idle_timer;
  bool queued = false;  // in the server's ready_ queue
};

namespace {

// Clients that connect at once (a fleet's monitoring, a completion script
// in many shells) wait in the kernel's queue rather than being refused.
constexpr int kBacklog = 1024;

std::string Errno(const std::string& what) {
  return what + ": " + strerror(errno);
}

Status MakeDirectories(const std::filesystem::path& dir,
                       std::optional<gid_t> group) {
  if (dir.empty()) return Status::Ok();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Status::Error(dir.string() + " is not a directory");
    }
    return Status::Ok();
  }
  if (errno != ENOENT)
    return Status::Error(Errno("cannot stat " + dir.string()));
  Status s = MakeDirectories(dir.parent_path(), group);
  if (!s.ok()) return s;
  if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return Status::Error(Errno("cannot create " + dir.string()));
  }
  // mkdir's mode passes through the umask; the group needs r-x.
  if (chmod(dir.c_str(), 0750) != 0 ||
      (group && chown(dir.c_str(), static_cast<uid_t>(-1), *group) != 0)) {
    return Status::Error(Errno("cannot set the mode of " + dir.string()));
  }
  return Status::Ok();
}

// The socket's directory made for watchd by someone else (systemd's
// RuntimeDirectory=, root:root 0750) would lock the group out: one that
// watchd owns and that others cannot enter is given the group. A shared
// directory (/run, /tmp: open to others) is never changed.
Status GiveDirectoryTheGroup(const std::filesystem::path& dir,
                             std::optional<gid_t> group) {
  struct stat st;
  if (!group || dir.empty() || stat(dir.c_str(), &st) != 0) {
    return Status::Ok();
  }
  if (st.st_uid != geteuid() || (st.st_mode & 0007) != 0 ||
      st.st_gid == *group) {
    return Status::Ok();
  }
  if (chown(dir.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    return Status::Error(Errno("cannot give " + dir.string() + " the group"));
  }
  return Status::Ok();
}

// A socket file left by a watchd that died is removed; one that answers
// belongs to a running watchd.
Status ClearStaleSocket(const std::string& path, const sockaddr_un& addr) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::Error(Errno("cannot stat " + path));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::Error(path +
                         " exists and is not a socket: remove it or set "
                         "daemon.control_socket to another path");
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Error(Errno("socket"));
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  close(fd);
  if (rc == 0 || err == EAGAIN) {
    return Status::Error("another watchd is listening on " + path);
  }
  if (err != ECONNREFUSED) {
    errno = err;
    return Status::Error(Errno("cannot connect to " + path));
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::Error(Errno("cannot remove the stale socket " + path));
  }
  return Status::Ok();
}

}  // namespace

void ControlServer::Responder::Send(std::string line) {
  std::shared_ptr<Conn> conn = conn_.lock();
  conn_.reset();
  if (!conn || conn->dead) return;
  conn->awaiting = false;
  conn->out += line;
  ControlServer* server = conn->server;
  server->Flush(conn.get());
  // Lines that arrived while this one was answered queue for the loop:
  // the caller may be deep inside some other object's callback.
  server->Pump(conn.get());
}

ControlServer::ControlServer(EventLoop* loop, Options options, Handler handler)
    : loop_(loop),
      options_(std::move(options)),
      handler_(std::move(handler)),
      reap_timer_([this] { Reap(); }),
      dispatch_timer_([this] { Dispatch(); }) {}

ControlServer::~ControlServer() {
  for (auto& [id, conn] : conns_) {
    if (conn->fd >= 0) loop_->UnwatchAndClose(conn->fd);
    conn->dead = true;
  }
  conns_.clear();
  if (listen_fd_ >= 0) {
    loop_->UnwatchAndClose(listen_fd_);
    if (unlink_on_exit_) unlink(options_.path.c_str());
  }
}

Status ControlServer::Listen() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (options_.path.empty() || options_.path.size() >= sizeof(addr.sun_path)) {
    return Status::Error("control socket path '" + options_.path +
                         "' is empty or too long");
  }
  memcpy(addr.sun_path, options_.path.c_str(), options_.path.size() + 1);
  const std::filesystem::path dir =
      std::filesystem::path(options_.path).parent_path();
  Status s = MakeDirectories(dir, options_.group);
  if (!s.ok()) return s;
  s = GiveDirectoryTheGroup(dir, options_.group);
  if (!s.ok()) return s;
  s = ClearStaleSocket(options_.path, addr);
  if (!s.ok()) return s;

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Error(Errno("socket"));
  // Created 0660 at once: no moment where others could connect.
  mode_t old = umask(0117);
  int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  umask(old);
  if (rc != 0) {
    close(fd);
    errno = err;
    return Status::Error(Errno("cannot bind " + options_.path));
  }
  unlink_on_exit_ = true;
  if ((options_.group && chown(options_.path.c_str(), static_cast<uid_t>(-1),
                               *options_.group) != 0) ||
      listen(fd, kBacklog) != 0) {
    s = Status::Error(Errno("cannot listen on " + options_.path));
    close(fd);
    unlink(options_.path.c_str());
    unlink_on_exit_ = false;
    return s;
  }
  listen_fd_ = fd;
  return loop_->Watch(fd, EPOLLIN, [this](uint32_t) { OnAccept(); });
}

void ControlServer::OnAccept() {
  for (;;) {
    int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors: the pending client stays queued and is tried
      // again on the next wake-up; the loop is not spun on it meanwhile
      // because probes free descriptors every run.
      return;
    }
    if (conns_.size() >= options_.max_clients) {
      std::string line = ErrorReply(kErrUnavailable, "too many clients");
      (void)!write(fd, line.data(), line.size());
      close(fd);
      continue;
    }
    auto conn = std::make_shared<Conn>();
    conn->server = this;
    conn->id = next_id_++;
    conn->fd = fd;
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
      conn->peer = {cred.pid, cred.uid, cred.gid};
    } else {
      // Unknown credentials are nobody's.
      conn->peer = {0, static_cast<uid_t>(-1), static_cast<gid_t>(-1)};
    }
    Conn* raw = conn.get();
    conn->idle_timer.set_callback([this, raw] { OnIdle(raw); });
    conns_[conn->id] = std::move(conn);
    loop_->ScheduleAfter(&raw->idle_timer, options_.idle_timeout);
    if (!loop_->Watch(fd, EPOLLIN, [this, raw](uint32_t ev) { OnIo(raw, ev); })
             .ok()) {
      Close(raw);
    }
  }
}

void ControlServer::OnIo(Conn* conn, uint32_t events) {
  if (events & EPOLLOUT) Flush(conn);
  if (!conn->dead && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    ReadFrom(conn);
  }
  if (conn->dead) return;
  if (events & (EPOLLHUP | EPOLLERR)) conn->hung_up = true;
  Pump(conn);
  if (conn->dead) return;
  if (conn->hung_up) {
    // What a client sent before it hung up is still carried out (its
    // answers go nowhere); a level-triggered EPOLLHUP would wake the loop
    // until then, so the socket is no longer watched.
    if (conn->awaiting || !conn->queued) {
      Close(conn);
    } else {
      loop_->Unwatch(conn->fd);
    }
    return;
  }
  UpdateInterest(conn);
}

void ControlServer::ReadFrom(Conn* conn) {
  char buf[16 * 1024];
  while (!conn->read_closed) {
    ssize_t n = read(conn->fd, buf, sizeof(buf));
    if (n > 0) {
      conn->in.append(buf, static_cast<size_t>(n));
      // Enough to hold a whole request and the start of the next: more is
      // left in the socket until the handler answers.
      if (conn->in.size() > options_.max_request_bytes) break;
      continue;
    }
    if (n == 0) {
      conn->read_closed = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      Close(conn);
    }
    break;
  }
}

void ControlServer::Pump(Conn* conn) {
  if (conn->dead || conn->awaiting || conn->closing || conn->queued) return;
  for (;;) {
    size_t nl = conn->in.find('\n');
    if (nl == std::string::npos) {
      if (conn->in.size() > options_.max_request_bytes) {
        conn->out += ErrorReply(kErrBadRequest,
                                "request longer than " +
                                    std::to_string(options_.max_request_bytes) +
                                    " bytes");
        conn->closing = true;
        conn->in.clear();
        Flush(conn);
      } else if (conn->read_closed) {
        if (!conn->in.empty()) {
          conn->out +=
              ErrorReply(kErrBadRequest, "request not ended by a newline");
          conn->in.clear();
        }
        conn->closing = true;
        Flush(conn);
      }
      return;
    }
    if (nl > options_.max_request_bytes) {
      conn->in.resize(options_.max_request_bytes + 1);
      continue;  // answered as too long above
    }
    if (nl == 0 || (nl == 1 && conn->in[0] == '\r')) {
      conn->in.erase(0, nl + 1);
      continue;
    }
    break;
  }
  conn->queued = true;
  ready_.push_back(conns_.at(conn->id));
  if (!dispatch_timer_.pending()) {
    loop_->ScheduleAfter(&dispatch_timer_, Duration::zero());
  }
}

void ControlServer::Dispatch() {
  while (!ready_.empty()) {
    std::shared_ptr<Conn> conn = ready_.front().lock();
    ready_.pop_front();
    if (!conn) continue;
    conn->queued = false;
    if (conn->dead || conn->awaiting || conn->closing) continue;
    size_t nl = conn->in.find('\n');
    if (nl == std::string::npos) continue;
    std::string line = conn->in.substr(0, nl);
    conn->in.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    conn->awaiting = true;
    loop_->Cancel(&conn->idle_timer);
    handler_(conn->peer, line, Responder(conn));
    // One request per pass of the loop: probes due meanwhile run between
    // two requests, however many clients are waiting.
    break;
  }
  if (!ready_.empty()) {
    loop_->ScheduleAfter(&dispatch_timer_, Duration::zero());
  }
}

void ControlServer::Flush(Conn* conn) {
  while (conn->out_pos < conn->out.size()) {
    ssize_t n = send(conn->fd, conn->out.data() + conn->out_pos,
                     conn->out.size() - conn->out_pos, MSG_NOSIGNAL);
    if (n > 0) {
      conn->out_pos += static_cast<size_t>(n);
      // Progress: a slow reader is timed from its last read.
      loop_->ScheduleAfter(&conn->idle_timer, options_.idle_timeout);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      UpdateInterest(conn);
      return;
    }
    // A client that hung up may still have requests queued: they are
    // carried out, their answers dropped.
    if (!conn->hung_up) {
      Close(conn);
      return;
    }
    conn->out_pos = conn->out.size();
  }
  conn->out.clear();
  conn->out_pos = 0;
  if (conn->closing ||
      (conn->read_closed && !conn->awaiting && conn->in.empty())) {
    Close(conn);
    return;
  }
  UpdateInterest(conn);
}

void ControlServer::UpdateInterest(Conn* conn) {
  if (conn->dead || conn->hung_up) return;
  uint32_t events = 0;
  if (!conn->read_closed && !conn->closing &&
      conn->in.size() <= options_.max_request_bytes) {
    events |= EPOLLIN;
  }
  if (conn->out_pos < conn->out.size()) events |= EPOLLOUT;
  (void)loop_->Watch(conn->fd, events,
                     [this, conn](uint32_t ev) { OnIo(conn, ev); });
  // Waiting on the client (for a request or to read the reply) is timed;
  // waiting on the handler is not.
  if (!conn->awaiting && !conn->idle_timer.pending()) {
    loop_->ScheduleAfter(&conn->idle_timer, options_.idle_timeout);
  }
}

void ControlServer::OnIdle(Conn* conn) {
  if (conn->dead || conn->awaiting || conn->queued) return;
  if (conn->out_pos < conn->out.size()) {
    Close(conn);  // it reads nothing of its reply
    return;
  }
  if (conn->in.empty() && conn->read_closed) {
    Close(conn);
    return;
  }
  conn->out +=
      ErrorReply(kErrBadRequest, "no complete request within " +
                                     FormatDuration(options_.idle_timeout));
  conn->closing = true;
  Flush(conn);
}

void ControlServer::Close(Conn* conn) {
  if (conn->dead) return;
  conn->dead = true;
  loop_->Cancel(&conn->idle_timer);
  loop_->UnwatchAndClose(conn->fd);
  conn->fd = -1;
  loop_->ScheduleAfter(&reap_timer_, Duration::zero());
}

void ControlServer::Reap() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->second->dead) {
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace watchd
