// One configured check of one service (after Envoy's health checker): owns
// its probe, its interval and timeout timers and its counters. Every run
// ends through Complete(), which applies the thresholds and schedules the
// next run.
#ifndef WATCHD_HEALTH_CHECK_H_
#define WATCHD_HEALTH_CHECK_H_

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "core/clock.h"
#include "core/timer_wheel.h"
#include "probes/probe.h"

namespace watchd {

class EventLoop;
class Random;
class Check;

enum class CheckState { kPending, kPassing, kFailing };

// "pending", "passing", "failing".
const char* CheckStateName(CheckState state);

// Told of a run's end, always from the loop (a probe's answer inside its
// own Start is deferred): OnStateChange (when the state moved) comes before
// OnProbeDone. Observers may Reset() or Stop() the check, never destroy it.
class CheckObserver {
 public:
  virtual ~CheckObserver() = default;
  // Every finished run. lateness: how long after its planned time it began.
  virtual void OnProbeDone(const Check& check, const ProbeResult& result,
                           Duration duration, Duration lateness) = 0;
  virtual void OnStateChange(const Check& check, CheckState from,
                             CheckState to) = 0;
};

class Check {
 public:
  // `service` is the owning service's name, kept by reference: it must
  // outlive the check. Of `config` the check keeps its schedule and
  // thresholds; the probe holds its own settings.
  Check(const std::string& service, const CheckConfig& config,
        std::unique_ptr<Probe> probe, EventLoop* loop, Random* random,
        CheckObserver* observer);
  ~Check();
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  // Cap of the spread of first runs, so a long interval does not leave a
  // check without a result for long after start.
  static constexpr Duration kMaxFirstSpread = std::chrono::seconds(10);
  // The loop's coalescing grain for checks that together run
  // `runs_per_second`: about ten runs share a wake-up, within 1..10 ms. A
  // wake-up costs more CPU than a probe, but a batch's last run starts
  // late by the batch's work, so the grain shrinks as the rate grows.
  static Duration CoalescingGrain(double runs_per_second);
  // Runs per second this check plans.
  double rate() const;

  // Schedules the first run at a random point of the first interval (at most
  // kMaxFirstSpread in), so checks loaded together do not fire together;
  // with jitter 0 it runs at once.
  void Start();
  // Cancels the run in flight and every timer; Start() may follow.
  void Stop();
  // Forgets the counters and returns to pending (after a restart), keeping
  // the schedule; a run in flight is abandoned.
  void Reset();
  // Before Start: takes up the verdict and consecutive counters an earlier
  // watchd saved (the state file). The observer is not told: the owner
  // reports what it restores.
  void Restore(CheckState state, int failures, int successes);
  // Failures finishing before `t` are reported but not counted (start_grace).
  void IgnoreFailuresUntil(TimePoint t) { ignore_failures_until_ = t; }

  const std::string& service() const { return *service_; }
  const std::string& name() const { return name_; }
  const char* kind() const { return kind_; }
  Duration interval() const { return interval_; }
  Duration timeout() const { return timeout_; }
  OnFailure on_failure() const { return on_failure_; }
  CheckState state() const { return state_; }
  bool running() const { return running_; }
  int consecutive_failures() const { return failures_; }
  int consecutive_successes() const { return successes_; }
  // The last finished run, if any.
  const std::optional<ProbeResult>& last_result() const { return last_; }
  Duration last_duration() const { return last_duration_; }
  // When the last run ended.
  TimePoint last_at() const { return last_at_; }
  // When the state last changed (or the check was built).
  TimePoint since() const { return since_; }
  TimePoint next_run() const { return Due(); }

 private:
  void OnTimer();
  void Run();
  void Complete(ProbeResult result);
  void OnTimeout();
  void ScheduleNext();
  Duration JitteredInterval();
  // When the run planned for planned_ starts: on the loop's grid.
  TimePoint Due() const;

  const std::string* service_;
  std::string name_;
  const char* kind_;
  Duration interval_;
  Duration timeout_;
  double jitter_;
  int failures_needed_;
  int successes_needed_;
  std::unique_ptr<Probe> probe_;
  EventLoop* loop_;
  Random* random_;
  CheckObserver* observer_;

  // The next run while idle, the timeout while a run is in flight: the two
  // are never pending together.
  Timer timer_;
  TimePoint planned_{};  // the current or next run's exact plan (see Due)
  TimePoint started_{};
  TimePoint ignore_failures_until_{};
  TimePoint since_{};
  TimePoint last_at_{};
  Duration last_duration_{0};
  int failures_ = 0;
  int successes_ = 0;
  OnFailure on_failure_;
  CheckState state_ = CheckState::kPending;
  bool running_ = false;
  bool in_start_ = false;  // inside probe_->Start
  std::optional<ProbeResult> last_;
  // A result the probe gave inside Start, finished from timer_.
  std::unique_ptr<ProbeResult> early_;
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_CHECK_H_
