#include "health/check.h"

#include <algorithm>
#include <cmath>

#include "core/event_loop.h"
#include "core/random.h"

namespace watchd {

const char* CheckStateName(CheckState state) {
  switch (state) {
    case CheckState::kPending:
      return "pending";
    case CheckState::kPassing:
      return "passing";
    case CheckState::kFailing:
      return "failing";
  }
  return "unknown";
}

Check::Check(const std::string& service, const CheckConfig& config,
             std::unique_ptr<Probe> probe, EventLoop* loop, Random* random,
             CheckObserver* observer)
    : service_(&service),
      name_(config.name),
      kind_(ProbeKindName(config.probe)),
      interval_(config.interval),
      timeout_(config.timeout),
      jitter_(config.jitter),
      failures_needed_(config.failures),
      successes_needed_(config.successes),
      probe_(std::move(probe)),
      loop_(loop),
      random_(random),
      observer_(observer),
      timer_([this] { OnTimer(); }),
      since_(loop->Now()),
      on_failure_(config.on_failure) {}

Check::~Check() { Stop(); }

void Check::Start() {
  Stop();
  // The whole first interval, not just interval x jitter: later runs drift
  // apart only as sqrt(runs) x jitter, so first runs bunched into a short
  // window stay bunched for minutes (10,000 checks at 1s and 10% would all
  // be in flight within the same 100 ms).
  Duration window =
      jitter_ <= 0 ? Duration::zero() : std::min(interval_, kMaxFirstSpread);
  planned_ = loop_->Now() +
             std::chrono::duration_cast<Duration>(window * random_->Uniform());
  loop_->ScheduleAt(&timer_, Due());
}

void Check::Stop() {
  if (running_) probe_->Cancel();
  running_ = false;
  early_.reset();
  loop_->Cancel(&timer_);
}

void Check::Reset() {
  if (running_) {
    probe_->Cancel();
    running_ = false;
    early_.reset();
    ScheduleNext();
  }
  failures_ = 0;
  successes_ = 0;
  if (state_ != CheckState::kPending) {
    CheckState from = state_;
    state_ = CheckState::kPending;
    since_ = loop_->Now();
    observer_->OnStateChange(*this, from, state_);
  }
}

void Check::Restore(CheckState state, int failures, int successes) {
  state_ = state;
  failures_ = failures;
  successes_ = successes;
}

Duration Check::CoalescingGrain(double runs_per_second) {
  constexpr double kRunsPerWake = 10;
  constexpr Duration kMin = std::chrono::milliseconds(1);
  constexpr Duration kMax = std::chrono::milliseconds(10);
  double seconds = std::min(1.0, kRunsPerWake / std::max(runs_per_second, 1.0));
  auto grain = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(seconds));
  return std::clamp(grain, kMin, kMax);
}

double Check::rate() const {
  return 1.0 / std::chrono::duration<double>(interval_).count();
}

TimePoint Check::Due() const {
  // On the loop's grid, at most 1% of the interval apart, so that runs due
  // close together start in one wake-up; planned_ stays exact, so the
  // period does not drift by the rounding.
  return loop_->Coalesce(planned_, interval_ / 100);
}

Duration Check::JitteredInterval() {
  // Uniform in interval * [1 - jitter/2, 1 + jitter/2]: the mean stays the
  // configured interval while neighbours drift apart.
  double factor = 1.0 + jitter_ * (random_->Uniform() - 0.5);
  return std::chrono::duration_cast<Duration>(interval_ * factor);
}

void Check::OnTimer() {
  if (early_) {
    std::unique_ptr<ProbeResult> result = std::move(early_);
    Complete(std::move(*result));
  } else if (running_) {
    OnTimeout();
  } else {
    Run();
  }
}

void Check::Run() {
  running_ = true;
  started_ = loop_->Now();
  loop_->ScheduleAfter(&timer_, timeout_);
  in_start_ = true;
  probe_->Start(timeout_, [this](ProbeResult result) {
    if (in_start_) {
      early_ = std::make_unique<ProbeResult>(std::move(result));
    } else {
      Complete(std::move(result));
    }
  });
  in_start_ = false;
  // An answer inside Start is finished from the loop: observers that reset
  // or stop this check must not do so while the probe is still starting.
  if (early_) loop_->ScheduleAfter(&timer_, Duration::zero());
}

void Check::OnTimeout() {
  if (!running_) return;
  ProbeResult result = probe_->TimedOut(timeout_);
  probe_->Cancel();
  Complete(std::move(result));
}

void Check::Complete(ProbeResult result) {
  if (!running_) return;
  running_ = false;
  loop_->Cancel(&timer_);
  TimePoint now = loop_->Now();
  last_duration_ = now - started_;
  Duration lateness = std::max(Duration::zero(), started_ - Due());

  CheckState from = state_;
  if (result.outcome == ProbeOutcome::kSuccess) {
    failures_ = 0;
    ++successes_;
    if (state_ != CheckState::kPassing && successes_ >= successes_needed_) {
      state_ = CheckState::kPassing;
    }
  } else if (now >= ignore_failures_until_) {
    successes_ = 0;
    ++failures_;
    if (state_ != CheckState::kFailing && failures_ >= failures_needed_) {
      state_ = CheckState::kFailing;
    }
  }
  CheckState to = state_;
  if (to != from) since_ = now;
  last_at_ = now;
  last_ = std::move(result);
  ScheduleNext();
  // Observers run last, as they may Reset() or Stop() this check (never
  // destroy it); the probe report goes out even then.
  ProbeResult reported = *last_;
  if (to != from) observer_->OnStateChange(*this, from, to);
  observer_->OnProbeDone(*this, reported, last_duration_, lateness);
}

void Check::ScheduleNext() {
  // Planned from the previous plan, not from completion, so probes do not
  // drift; after a stall the missed periods are skipped, not replayed.
  TimePoint now = loop_->Now();
  planned_ += JitteredInterval();
  // Whole periods missed (a stall): skip them to the next one ahead. Less
  // than a period (a run that took its whole timeout, which jitter may
  // make longer than this interval): run at once, planned for now, since
  // the delay is the check's own and not the scheduler's lateness.
  if (now - planned_ >= interval_) {
    auto behind = (now - planned_) / interval_ + 1;
    planned_ += interval_ * behind;
  } else if (planned_ < now) {
    planned_ = now;
  }
  loop_->ScheduleAt(&timer_, Due());
}

}  // namespace watchd
