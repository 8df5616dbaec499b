#include "actions/status_batcher.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "core/event_loop.h"

namespace watchd {

class StatusBatcher::Call final : public SupervisorCall {
 public:
  Call(std::shared_ptr<StatusBatcher> batcher, uint64_t id)
      : batcher_(std::move(batcher)), id_(id) {}
  ~Call() override { batcher_->Cancel(id_); }

 private:
  std::shared_ptr<StatusBatcher> batcher_;
  const uint64_t id_;
};

std::shared_ptr<StatusBatcher> StatusBatcher::Create(EventLoop* loop,
                                                     Fetch fetch,
                                                     Options options) {
  return std::shared_ptr<StatusBatcher>(
      new StatusBatcher(loop, std::move(fetch), options));
}

StatusBatcher::StatusBatcher(EventLoop* loop, Fetch fetch, Options options)
    : loop_(loop), fetch_(std::move(fetch)), options_(options) {
  timer_.set_callback([this] { StartBatch(); });
}

std::unique_ptr<SupervisorCall> StatusBatcher::Add(
    const std::string& program, Supervisor::StatusReplyDone done) {
  uint64_t id = next_id_++;
  waiters_.emplace(id, Waiter{program, std::move(done)});
  ScheduleBatch();
  return std::make_unique<Call>(shared_from_this(), id);
}

void StatusBatcher::Cancel(uint64_t id) {
  if (waiters_.erase(id) == 0) return;  // answered already
  if (waiters_.empty()) loop_->Cancel(&timer_);
  // The request goes with the last caller of its batch, not before.
  if (request_ != nullptr &&
      (waiters_.empty() || waiters_.begin()->first >= batch_end_)) {
    request_.reset();
    ScheduleBatch();
  }
}

void StatusBatcher::ScheduleBatch() {
  if (request_ != nullptr || waiters_.empty() || timer_.pending()) return;
  TimePoint at = loop_->Now();
  if (!last_full_) at = std::max(at, last_start_ + options_.spacing);
  loop_->ScheduleAt(&timer_, at);
}

void StatusBatcher::StartBatch() {
  std::vector<std::string> programs;
  std::map<std::string_view, size_t> slots;
  auto it = waiters_.begin();
  for (; it != waiters_.end(); ++it) {
    auto [slot, added] = slots.try_emplace(it->second.program, programs.size());
    if (added) {
      if (programs.size() == options_.max_batch) break;
      programs.push_back(it->second.program);
    }
    it->second.slot = slot->second;
  }
  batch_end_ = it == waiters_.end() ? next_id_ : it->first;
  last_full_ = it != waiters_.end();
  last_start_ = loop_->Now();
  request_ = fetch_(programs, [this](Result<std::vector<StatusReply>> replies) {
    OnFetched(std::move(replies));
  });
}

void StatusBatcher::OnFetched(Result<std::vector<StatusReply>> replies) {
  // The callbacks may drop the supervisor and every call.
  std::shared_ptr<StatusBatcher> self = shared_from_this();
  // Gone on return (the fetch allows it); meanwhile calls made from the
  // callbacks may schedule the next batch.
  std::unique_ptr<SupervisorCall> request = std::move(request_);
  // A failure is the supervisor's, not a program's: the callers queued
  // behind this batch get it too, rather than a request of their own that
  // would most likely fail the same way (after a whole timeout, when the
  // supervisor hangs).
  const uint64_t end = replies.ok() ? batch_end_ : next_id_;
  std::vector<uint64_t> ids;
  for (auto it = waiters_.begin(); it != waiters_.end() && it->first < end;
       ++it) {
    ids.push_back(it->first);
  }
  for (uint64_t id : ids) {
    // Found again by id: an earlier callback may have cancelled this one.
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;
    StatusReply reply = replies.ok() ? (*replies)[it->second.slot]
                                     : StatusReply{replies.status()};
    Supervisor::StatusReplyDone done = std::move(it->second.done);
    waiters_.erase(it);
    done(std::move(reply));
  }
  ScheduleBatch();
}

}  // namespace watchd
