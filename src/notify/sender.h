// How one notify target delivers a message: a webhook POST, a mail, a
// command. A TargetQueue sends one message at a time through its Sender.
#ifndef WATCHD_NOTIFY_SENDER_H_
#define WATCHD_NOTIFY_SENDER_H_

#include <functional>
#include <vector>

#include "core/status.h"
#include "notify/notification.h"

namespace watchd {

// The outcome of one attempt.
struct Delivery {
  Status status;
  // Worth another attempt: the receiver was down, busy or answered 5xx.
  bool retry = false;
};

class Sender {
 public:
  using Done = std::function<void(Delivery)>;

  virtual ~Sender() = default;

  // Starts delivering `batch` (one notification, or a digest of several),
  // rendered before Send returns. `done` runs exactly once, on the loop and
  // never inside Send, as the sender's last act: it may Send again. One
  // delivery at a time; destroying the sender abandons it without `done`.
  virtual void Send(const std::vector<Notification>& batch, Done done) = 0;
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_SENDER_H_
