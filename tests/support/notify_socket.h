// A stand-in for systemd's notification socket: a unix datagram socket a
// test names in NOTIFY_SOCKET, recording each sd_notify message and the
// pid that sent it (SO_PASSCRED, as systemd reads it for NotifyAccess=).
#ifndef WATCHD_TESTS_SUPPORT_NOTIFY_SOCKET_H_
#define WATCHD_TESTS_SUPPORT_NOTIFY_SOCKET_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace watchd::testing {

struct NotifyMessage {
  std::string text;  // "READY=1\nSTATUS=..."
  pid_t pid = 0;
  std::chrono::steady_clock::time_point at;  // when the test read it

  // Whether one of its lines is exactly `line`, or starts with it when
  // `line` ends in '=' ("STATUS=").
  bool Has(const std::string& line) const;
  // The value of `key` ("STATUS"), or "" when absent.
  std::string Value(const std::string& key) const;
};

class NotifySocket {
 public:
  NotifySocket();  // bound in a directory of its own; ok() says if it worked
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool ok() const { return fd_ >= 0; }
  // "NOTIFY_SOCKET=/tmp/.../notify"
  std::string Env() const { return "NOTIFY_SOCKET=" + path_; }

  // Every message so far, reading what has arrived.
  const std::vector<NotifyMessage>& Messages();
  // Waits up to `timeout` for a message with `line`; returns the first.
  std::optional<NotifyMessage> WaitFor(const std::string& line,
                                       std::chrono::milliseconds timeout);
  // Waits for a message that satisfies `pred`.
  std::optional<NotifyMessage> WaitFor(
      const std::function<bool(const NotifyMessage&)>& pred,
      std::chrono::milliseconds timeout);
  // How many messages so far have `line`.
  int Count(const std::string& line);

 private:
  void Drain();

  TempDir dir_;
  std::string path_;
  int fd_ = -1;
  std::vector<NotifyMessage> messages_;
};

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_NOTIFY_SOCKET_H_
