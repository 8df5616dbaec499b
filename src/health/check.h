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

// Told of a run's end: OnStateChange (when the state moved) comes before
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
  Check(std::string service, CheckConfig config, std::unique_ptr<Probe> probe,
        EventLoop* loop, Random* random, CheckObserver* observer);
  ~Check();
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  // Cap of the spread of first runs, so a long interval does not leave a
  // check without a result for long after start.
  static constexpr Duration kMaxFirstSpread = std::chrono::seconds(30);

  // Schedules the first run at a random point of the first interval (at most
  // kMaxFirstSpread in), so checks loaded together do not fire together;
  // with jitter 0 it runs at once.
  void Start();
  // Cancels the run in flight and every timer; Start() may follow.
  void Stop();
  // Forgets the counters and returns to pending (after a restart), keeping
  // the schedule; a run in flight is abandoned.
  void Reset();
  // Failures finishing before `t` are reported but not counted (start_grace).
  void IgnoreFailuresUntil(TimePoint t) { ignore_failures_until_ = t; }

  const std::string& service() const { return service_; }
  const std::string& name() const { return config_.name; }
  const char* kind() const { return ProbeKindName(config_.probe); }
  const CheckConfig& config() const { return config_; }
  CheckState state() const { return state_; }
  bool running() const { return running_; }
  int consecutive_failures() const { return failures_; }
  int consecutive_successes() const { return successes_; }
  // The last finished run, if any.
  const std::optional<ProbeResult>& last_result() const { return last_; }
  Duration last_duration() const { return last_duration_; }
  TimePoint next_run() const { return planned_; }

 private:
  void Run();
  void Complete(ProbeResult result);
  void OnTimeout();
  void ScheduleNext();
  Duration JitteredInterval();

  std::string service_;
  CheckConfig config_;
  std::unique_ptr<Probe> probe_;
  EventLoop* loop_;
  Random* random_;
  CheckObserver* observer_;

  Timer run_timer_;
  Timer timeout_timer_;
  TimePoint planned_{};  // when the current or next run is due
  TimePoint started_{};
  TimePoint ignore_failures_until_{};
  bool running_ = false;
  CheckState state_ = CheckState::kPending;
  int failures_ = 0;
  int successes_ = 0;
  std::optional<ProbeResult> last_;
  Duration last_duration_{0};
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_CHECK_H_
