// How often a service may be restarted: `restart_limit` (at most max
// restarts within a window) and `restart_backoff` (a wait that doubles
// with each consecutive restart). Pure bookkeeping on the times it is
// given, so it is tested without a loop.
#ifndef WATCHD_HEALTH_RESTART_POLICY_H_
#define WATCHD_HEALTH_RESTART_POLICY_H_

#include <vector>

#include "config/config.h"
#include "core/clock.h"

namespace watchd {

class RestartPolicy {
 public:
  RestartPolicy(const RestartLimit& limit, const RestartBackoff& backoff)
      : limit_(limit), backoff_(backoff) {}

  // Whether `max` restarts happened within `within` before now.
  bool LimitReached(TimePoint now);
  // When the next restart may be asked (after the backoff of the last).
  TimePoint next_allowed() const { return next_allowed_; }
  // A restart was asked and has ended, done (counted toward the limit) or
  // failed (only backed off).
  void Ended(TimePoint now, bool done);
  // A long healthy stretch forgives earlier restarts.
  void Forgive() { consecutive_ = 0; }
  // The operator resumed the service: everything starts afresh.
  void Reset();

  // Kept across restarts of watchd (daemon.state_file): the done restarts
  // still within the window at `now`, oldest first.
  std::vector<TimePoint> RecentRestarts(TimePoint now) const;
  // Takes up what an earlier watchd kept: its done restarts (oldest first,
  // none after `now`; only the newest `max` can matter), its consecutive
  // count and when the next restart may be asked, held to at most the
  // longest backoff from now (a wall clock stepped back while watchd was
  // down must not hold restarts off for longer). total() stays this
  // watchd's own count.
  void Restore(TimePoint now, std::vector<TimePoint> restarts, int consecutive,
               TimePoint next_allowed);

  int total() const { return total_; }
  int consecutive() const { return consecutive_; }
  // Restarts within the window as of the last LimitReached.
  int recent() const { return static_cast<int>(history_.size()); }

 private:
  Duration Backoff() const;

  const RestartLimit& limit_;
  const RestartBackoff& backoff_;
  // Done restarts within the window, oldest first: at most limit_.max, and
  // no allocation while there are none.
  std::vector<TimePoint> history_;
  TimePoint next_allowed_{};
  int consecutive_ = 0;
  int total_ = 0;
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_RESTART_POLICY_H_
