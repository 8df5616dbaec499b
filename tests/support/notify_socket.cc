#include "tests/support/notify_socket.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string_view>

#include "tests/support/wait.h"

namespace watchd::testing {

bool NotifyMessage::Has(const std::string& line) const {
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view l(text.data() + begin, end - begin);
    if (!line.empty() && line.back() == '=' ? l.substr(0, line.size()) == line
                                            : l == line) {
      return true;
    }
    begin = end + 1;
  }
  return false;
}

std::string NotifyMessage::Value(const std::string& key) const {
  const std::string prefix = key + "=";
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    if (text.compare(begin, prefix.size(), prefix) == 0) {
      return text.substr(begin + prefix.size(), end - begin - prefix.size());
    }
    begin = end + 1;
  }
  return "";
}

NotifySocket::NotifySocket() : path_(dir_.File("notify")) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof(addr.sun_path)) {
    close(fd);
    return;
  }
  memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return;
  }
  fd_ = fd;
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) close(fd_);
}

void NotifySocket::Drain() {
  if (fd_ < 0) return;
  for (;;) {
    char buf[4096];
    iovec iov{buf, sizeof(buf)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd_, &msg, 0);
    if (n < 0) return;
    NotifyMessage m;
    m.text.assign(buf, static_cast<size_t>(n));
    m.at = std::chrono::steady_clock::now();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred;
        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
        m.pid = cred.pid;
      }
    }
    messages_.push_back(std::move(m));
  }
}

const std::vector<NotifyMessage>& NotifySocket::Messages() {
  Drain();
  return messages_;
}

std::optional<NotifyMessage> NotifySocket::WaitFor(
    const std::function<bool(const NotifyMessage&)>& pred,
    std::chrono::milliseconds timeout) {
  std::optional<NotifyMessage> found;
  testing::WaitFor(
      [&] {
        for (const NotifyMessage& m : Messages()) {
          if (pred(m)) {
            found = m;
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

std::optional<NotifyMessage> NotifySocket::WaitFor(
    const std::string& line, std::chrono::milliseconds timeout) {
  return WaitFor([&](const NotifyMessage& m) { return m.Has(line); }, timeout);
}

int NotifySocket::Count(const std::string& line) {
  int n = 0;
  for (const NotifyMessage& m : Messages()) n += m.Has(line);
  return n;
}

}  // namespace watchd::testing
