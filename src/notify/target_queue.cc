#include "notify/target_queue.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/event_loop.h"

namespace watchd {

TargetQueue::TargetQueue(std::string name, EventLoop* loop,
                         std::unique_ptr<Sender> sender, const Policy& policy,
                         Metrics* metrics)
    : name_(std::move(name)),
      loop_(loop),
      sender_(std::move(sender)),
      policy_(policy),
      metrics_(metrics),
      series_(metrics->AddNotifyTarget(name_)) {
  timer_.set_callback([this] { OnTimer(); });
}

TargetQueue::~TargetQueue() {
  loop_->Cancel(&timer_);
  // The sender first: its transfer or child may still call back.
  sender_.reset();
}

void TargetQueue::Push(Notification n) {
  if (waiting_.size() >= policy_.queue_max) {
    waiting_.pop_front();
    metrics_->CountNotificationsDropped(series_, 1);
    if (!dropping_) {
      dropping_ = true;
      spdlog::warn(
          "notify {}: {} notifications already wait; dropping the oldest",
          name_, policy_.queue_max);
    }
  } else if (waiting_.size() + 1 < policy_.queue_max) {
    dropping_ = false;
  }
  waiting_.push_back(std::move(n));
  Arm();
}

void TargetQueue::Flush() {
  flushing_ = true;
  if (in_flight_ || !batch_.empty()) return;  // a retry keeps its time
  loop_->Cancel(&timer_);
  Arm();
}

bool TargetQueue::idle() const {
  return !in_flight_ && batch_.empty() && waiting_.empty();
}

bool TargetQueue::BusyBefore(TimePoint deadline) const {
  if (in_flight_) return true;
  if (!batch_.empty()) return retry_at_ <= deadline;
  return !waiting_.empty();
}

void TargetQueue::Arm() {
  if (in_flight_ || !batch_.empty() || waiting_.empty() || timer_.pending()) {
    return;
  }
  TimePoint due = loop_->Now();
  if (!flushing_ && last_sent_) {
    due = std::max(due, *last_sent_ + policy_.coalesce);
  }
  loop_->ScheduleAt(&timer_, due);
}

void TargetQueue::TopUp() {
  while (!waiting_.empty() && batch_.size() < policy_.queue_max) {
    batch_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

void TargetQueue::OnTimer() {
  // Armed only when nothing is in flight, and with something to send.
  if (batch_.empty()) {
    attempts_ = 0;
    first_attempt_ = loop_->Now();
  }
  TopUp();
  ++attempts_;
  in_flight_ = true;
  last_sent_ = loop_->Now();
  sender_->Send(batch_, [this](Delivery d) { OnDelivered(std::move(d)); });
}

void TargetQueue::OnDelivered(Delivery delivery) {
  in_flight_ = false;
  const size_t count = batch_.size();
  if (delivery.status.ok()) {
    metrics_->CountNotifications(series_, NotifyResultLabel::kSent, count);
    spdlog::debug("notify {}: sent {} notification{}", name_, count,
                  count == 1 ? "" : "s");
    batch_.clear();
    Arm();
    return;
  }
  const TimePoint now = loop_->Now();
  // initial, 2x, 4x ... (capped: past `within` it no longer matters).
  Duration delay = policy_.retry.initial;
  for (int i = 1; i < attempts_ && delay < policy_.retry.within; ++i) {
    delay *= 2;
  }
  if (delivery.retry && attempts_ < policy_.retry.attempts &&
      now + delay <= first_attempt_ + policy_.retry.within) {
    spdlog::warn("notify {}: {}; retrying in {} (attempt {} of {})", name_,
                 delivery.status.message(), FormatDuration(delay),
                 attempts_ + 1, policy_.retry.attempts);
    retry_at_ = now + delay;
    loop_->ScheduleAt(&timer_, retry_at_);
    return;
  }
  metrics_->CountNotifications(series_, NotifyResultLabel::kFailed, count);
  spdlog::error(
      "notify {}: gave up on {} notification{} after {} attempt{}: {}", name_,
      count, count == 1 ? "" : "s", attempts_, attempts_ == 1 ? "" : "s",
      delivery.status.message());
  batch_.clear();
  Arm();
}

}  // namespace watchd
