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

Duration RestartPolicy::Backoff() const {
  Duration d = backoff_.initial;
  for (int i = 1; i < consecutive_ && d < backoff_.max; ++i) d *= 2;
  return std::min(d, backoff_.max);
}

}  // namespace watchd
