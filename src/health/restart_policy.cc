#include "health/restart_policy.h"

#include <algorithm>

namespace watchd {

bool RestartPolicy::LimitReached(TimePoint now) {
  auto recent =
      std::find_if(history_.begin(), history_.end(),
                   [&](TimePoint t) { return now - t <= limit_.within; });
  history_.erase(history_.begin(), recent);
  return static_cast<int>(history_.size()) >= limit_.max;
}

void RestartPolicy::Ended(TimePoint now, bool done) {
  ++consecutive_;
  next_allowed_ = now + Backoff();
  if (done) {
    history_.push_back(now);
    ++total_;
  }
}

void RestartPolicy::Reset() {
  history_.clear();
  next_allowed_ = {};
  consecutive_ = 0;
}

std::vector<TimePoint> RestartPolicy::RecentRestarts(TimePoint now) const {
  std::vector<TimePoint> recent;
  for (TimePoint t : history_) {
    if (now - t <= limit_.within) recent.push_back(t);
  }
  return recent;
}

void RestartPolicy::Restore(TimePoint now, std::vector<TimePoint> restarts,
                            int consecutive, TimePoint next_allowed) {
  const size_t keep = static_cast<size_t>(std::max(limit_.max, 0));
  if (restarts.size() > keep) {
    restarts.erase(restarts.begin(), restarts.end() - keep);
  }
  history_ = std::move(restarts);
  consecutive_ = consecutive;
  next_allowed_ = std::min(next_allowed, now + backoff_.max);
}

Duration RestartPolicy::Backoff() const {
  Duration d = backoff_.initial;
  for (int i = 1; i < consecutive_ && d < backoff_.max; ++i) d *= 2;
  return std::min(d, backoff_.max);
}

}  // namespace watchd
