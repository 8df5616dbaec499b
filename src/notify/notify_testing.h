// A Sender for tests: records each message and ends it when told to, or
// on the next loop pass.
#ifndef WATCHD_NOTIFY_NOTIFY_TESTING_H_
#define WATCHD_NOTIFY_NOTIFY_TESTING_H_

#include <string>
#include <utility>
#include <vector>

#include "core/event_loop.h"
#include "notify/sender.h"

namespace watchd::testing {

class FakeSender : public Sender {
 public:
  // With a loop, every message is delivered on the next loop pass.
  explicit FakeSender(EventLoop* loop = nullptr) : loop_(loop) {
    timer_.set_callback([this] { Complete(); });
  }
  ~FakeSender() override {
    if (loop_ != nullptr) loop_->Cancel(&timer_);
  }

  void Send(const std::vector<Notification>& batch, Done done) override {
    sent.push_back(batch);
    done_ = std::move(done);
    if (loop_ != nullptr) loop_->ScheduleAfter(&timer_, Duration::zero());
  }

  bool busy() const { return done_ != nullptr; }
  // Ends the message in flight.
  void Complete(Delivery delivery = {}) {
    Done done = std::move(done_);
    done_ = nullptr;
    done(std::move(delivery));
  }
  void Fail(bool retry) { Complete({Status::Error("receiver down"), retry}); }

  std::vector<std::vector<Notification>> sent;  // every message, in order

 private:
  EventLoop* loop_;
  Timer timer_;
  Done done_;
};

inline Notification Event(NotifyEvent event, std::string service,
                          std::string reason = "") {
  Notification n;
  n.event = event;
  n.service = std::move(service);
  n.reason = std::move(reason);
  return n;
}

}  // namespace watchd::testing

#endif  // WATCHD_NOTIFY_NOTIFY_TESTING_H_
