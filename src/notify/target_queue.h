// The deliveries of one notify target: a bounded queue of notifications,
// sent one message at a time through the target's Sender. Notifications
// arriving within `coalesce` of the last message go out together as one
// digest at the window's end, so a flapping service or 500 failing at once
// make one message, not hundreds; a message that fails is retried with
// exponential backoff (its retry carrying what arrived meanwhile), then
// given up on. Everything happens on loop timers: Push never sends.
#ifndef WATCHD_NOTIFY_TARGET_QUEUE_H_
#define WATCHD_NOTIFY_TARGET_QUEUE_H_

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "core/timer_wheel.h"
#include "metrics/metrics.h"
#include "notify/sender.h"

namespace watchd {

class EventLoop;

class TargetQueue {
 public:
  struct Policy {
    Duration coalesce{0};
    size_t queue_max = 1000;
    NotifyRetry retry;
  };

  TargetQueue(std::string name, EventLoop* loop, std::unique_ptr<Sender> sender,
              const Policy& policy, Metrics* metrics);
  // Abandons a message in flight.
  ~TargetQueue();
  TargetQueue(const TargetQueue&) = delete;
  TargetQueue& operator=(const TargetQueue&) = delete;

  // Queues `n`; when queue_max are already waiting, the oldest is dropped
  // (and counted).
  void Push(Notification n);
  // From now on sends what waits without waiting out the coalescing
  // window: watchd is stopping.
  void Flush();
  // Nothing waits, is in flight or waits for a retry.
  bool idle() const;
  // A message is in flight, or one will start by `deadline` (a retry due
  // later does not count): what a stopping daemon may still wait for.
  bool BusyBefore(TimePoint deadline) const;

  const std::string& name() const { return name_; }

 private:
  // Schedules the next message if one is due and none is under way.
  void Arm();
  void OnTimer();
  void OnDelivered(Delivery delivery);
  // Moves up to queue_max waiting notifications into the batch.
  void TopUp();

  const std::string name_;
  EventLoop* loop_;
  std::unique_ptr<Sender> sender_;
  const Policy policy_;
  Metrics* metrics_;
  Metrics::NotifyTargetHandle* series_;

  std::deque<Notification> waiting_;
  // The message being delivered, or waiting for its retry.
  std::vector<Notification> batch_;
  bool in_flight_ = false;
  int attempts_ = 0;  // of batch_
  TimePoint first_attempt_{};
  TimePoint retry_at_{};  // while batch_ waits for its retry
  // When the last message went out: the coalescing window runs from it.
  std::optional<TimePoint> last_sent_;
  bool flushing_ = false;
  bool dropping_ = false;  // since the queue was last below its bound
  Timer timer_;
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_TARGET_QUEUE_H_
