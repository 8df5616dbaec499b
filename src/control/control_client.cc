#include "control/control_client.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>

#include "control/protocol.h"

namespace watchd {
namespace {

// The largest reply read: a status of tens of thousands of services fits.
constexpr size_t kMaxReplyBytes = 256u << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

ControlCall CallControl(const std::string& path, nlohmann::json request,
                        Duration timeout) {
  ControlCall call;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    call.outcome = ControlCall::kUnreachable;
    call.error = "invalid control socket path '" + path + "'";
    return call;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    call.error = std::string("socket: ") + strerror(errno);
    return call;
  }
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    call.outcome = ControlCall::kUnreachable;
    call.error =
        "cannot reach watchd at " + path + ": " + strerror(errno) +
        (errno == ENOENT || errno == ECONNREFUSED ? " (is watchd running?)"
                                                  : "");
    return call;
  }
  request["v"] = kControlProtocolVersion;
  std::string line = request.dump() + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n =
        send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      call.error = "watchd at " + path + " hung up: " + strerror(errno);
      return call;
    }
    sent += static_cast<size_t>(n);
  }
  std::string& in = call.line;
  char buf[256 * 1024];
  size_t searched = 0;  // no newline before here
  for (;;) {
    size_t nl = in.find('\n', searched);
    if (nl != std::string::npos) {
      in.resize(nl);
      break;
    }
    searched = in.size();
    pollfd p{fd.get(), POLLIN, 0};
    int r = poll(&p, 1, RemainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      call.error = "watchd at " + path + " did not answer within " +
                   FormatDuration(timeout);
      return call;
    }
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      call.error = "watchd at " + path + " closed the connection";
      return call;
    }
    in.append(buf, static_cast<size_t>(n));
    if (in.size() > kMaxReplyBytes) {
      call.error = "reply from watchd at " + path + " is too large";
      return call;
    }
  }
  std::optional<ReplyHeader> header = ReadReplyHeader(in);
  if (!header) {
    call.error = "watchd at " + path + " sent a reply watchctl cannot read";
    return call;
  }
  call.header = std::move(*header);
  call.outcome = ControlCall::kReplied;
  return call;
}

}  // namespace watchd
