#include "health/check.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "core/random.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Answers each run with the next scripted outcome, or stays in flight
// ("hangs") when the script says so.
class ScriptedProbe : public Probe {
 public:
  void Start(Duration, DoneCallback done) override {
    ++starts;
    if (clock != nullptr) started_at.push_back(clock->Now());
    in_flight = true;
    if (script.empty() || script.front() == kHang) {
      if (!script.empty()) script.pop_front();
      done_ = std::move(done);
      return;
    }
    ProbeOutcome o = script.front();
    script.pop_front();
    in_flight = false;
    done(ProbeResult{o, ProbeOutcomeName(o)});
  }
  void Cancel() override {
    ++cancels;
    in_flight = false;
    done_ = nullptr;
  }

  static constexpr ProbeOutcome kHang = static_cast<ProbeOutcome>(99);
  std::deque<ProbeOutcome> script;
  int starts = 0;
  int cancels = 0;
  bool in_flight = false;
  const Clock* clock = nullptr;  // set: each start's time is kept
  std::vector<TimePoint> started_at;

 private:
  DoneCallback done_;
};

struct Recorder : CheckObserver {
  void OnProbeDone(const Check&, const ProbeResult& r, Duration,
                   Duration late) override {
    results.push_back(r);
    lateness.push_back(late);
  }
  void OnStateChange(const Check&, CheckState from, CheckState to) override {
    changes.emplace_back(from, to);
  }
  std::vector<ProbeResult> results;
  std::vector<Duration> lateness;
  std::vector<std::pair<CheckState, CheckState>> changes;
};

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  std::unique_ptr<Check> Make(CheckConfig config) {
    auto probe = std::make_unique<ScriptedProbe>();
    probe_ = probe.get();
    probe_->clock = &clock_;
    return std::make_unique<Check>(service_, config, std::move(probe), &loop_,
                                   &random_, &recorder_);
  }

  // Moves fake time forward in small steps, running due timers.
  void Advance(Duration d, Duration step = milliseconds(10)) {
    for (Duration done{0}; done < d; done += step) {
      clock_.Advance(step);
      loop_.RunOnce(Duration::zero());
    }
  }

  static CheckConfig Config(int failures = 3, int successes = 1) {
    CheckConfig c;
    c.name = "health";
    c.probe = ExecProbeConfig{{"/bin/true"}};
    c.interval = seconds(1);
    c.timeout = milliseconds(300);
    c.jitter = 0;
    c.failures = failures;
    c.successes = successes;
    return c;
  }

  const std::string service_ = "svc";
  FakeClock clock_;
  EventLoop loop_{&clock_};
  Random random_{42};
  Recorder recorder_;
  ScriptedProbe* probe_ = nullptr;
};

TEST_F(CheckTest, PendingUntilThresholdThenFailingThenPassing) {
  auto check = Make(Config(/*failures=*/3, /*successes=*/2));
  probe_->script = {ProbeOutcome::kFailure, ProbeOutcome::kError,
                    ProbeOutcome::kFailure, ProbeOutcome::kSuccess,
                    ProbeOutcome::kSuccess};
  check->Start();
  Advance(milliseconds(2500));
  EXPECT_EQ(probe_->starts, 3);
  EXPECT_EQ(check->state(), CheckState::kFailing);
  EXPECT_EQ(check->consecutive_failures(), 3);
  Advance(seconds(1));
  EXPECT_EQ(check->state(), CheckState::kFailing)
      << "one success is not enough";
  Advance(seconds(1));
  EXPECT_EQ(check->state(), CheckState::kPassing);
  ASSERT_EQ(recorder_.changes.size(), 2u);
  EXPECT_EQ(recorder_.changes[0],
            std::make_pair(CheckState::kPending, CheckState::kFailing));
  EXPECT_EQ(recorder_.changes[1],
            std::make_pair(CheckState::kFailing, CheckState::kPassing));
}

TEST_F(CheckTest, TimeoutCancelsTheProbeAndCountsAsFailure) {
  auto check = Make(Config(1));
  probe_->script = {ScriptedProbe::kHang};
  check->Start();
  Advance(milliseconds(200));
  EXPECT_TRUE(check->running());
  EXPECT_TRUE(recorder_.results.empty());
  Advance(milliseconds(200));
  ASSERT_EQ(recorder_.results.size(), 1u);
  EXPECT_EQ(recorder_.results[0].outcome, ProbeOutcome::kTimeout);
  EXPECT_EQ(recorder_.results[0].reason, "timeout after 300ms");
  EXPECT_EQ(probe_->cancels, 1);
  EXPECT_FALSE(probe_->in_flight);
  EXPECT_EQ(check->state(), CheckState::kFailing);
}

TEST_F(CheckTest, RunsOnItsIntervalWithoutDrift) {
  auto check = Make(Config());
  for (int i = 0; i < 20; ++i) probe_->script.push_back(ProbeOutcome::kSuccess);
  check->Start();
  Advance(milliseconds(10050));
  // First run at t=0 (no jitter), then every second.
  EXPECT_EQ(probe_->starts, 11);
  for (Duration late : recorder_.lateness) EXPECT_LT(late, milliseconds(20));
}

// About ten runs share a wake-up, on a grid of 1 to 10 ms.
TEST(CheckGrainTest, CoalescingGrainShrinksAsTheRateGrows) {
  EXPECT_EQ(Check::CoalescingGrain(0), milliseconds(10));
  EXPECT_EQ(Check::CoalescingGrain(10), milliseconds(10));
  EXPECT_EQ(Check::CoalescingGrain(1000), milliseconds(10));
  EXPECT_EQ(Check::CoalescingGrain(2000), milliseconds(5));
  EXPECT_EQ(Check::CoalescingGrain(10000), milliseconds(1));
  EXPECT_EQ(Check::CoalescingGrain(100000), milliseconds(1));
}

// Runs start on the loop's grid (here 10 ms, below 1% of the interval), so that
// checks due close together share a wake-up; lateness counts from the grid
// point, and the plan stays exact, so an interval off the grid does not drift.
TEST_F(CheckTest, RunsStartOnTheGridWithoutDrift) {
  loop_.set_coalescing_grain(Check::CoalescingGrain(1000));
  CheckConfig c = Config();
  c.interval = milliseconds(1003);
  auto check = Make(c);
  for (int i = 0; i < 200; ++i)
    probe_->script.push_back(ProbeOutcome::kSuccess);
  TimePoint origin = loop_.Now();
  check->Start();
  loop_.RunOnce(Duration::zero());  // the first run, due at once
  Advance(milliseconds(100500), milliseconds(1));
  ASSERT_EQ(probe_->started_at.size(), 101u);
  for (size_t k = 0; k < probe_->started_at.size(); ++k) {
    // Run k is planned at k x 1003 ms and starts at the next 10 ms point.
    auto planned = milliseconds(1003 * static_cast<int64_t>(k));
    auto due =
        (planned + milliseconds(9)) / milliseconds(10) * milliseconds(10);
    EXPECT_EQ(probe_->started_at[k] - origin, due) << "run " << k;
  }
  for (Duration late : recorder_.lateness) EXPECT_EQ(late, Duration::zero());
}

TEST_F(CheckTest, StallSkipsMissedPeriodsInsteadOfReplayingThem) {
  auto check = Make(Config());
  for (int i = 0; i < 20; ++i) probe_->script.push_back(ProbeOutcome::kSuccess);
  check->Start();
  Advance(milliseconds(50));
  ASSERT_EQ(probe_->starts, 1);
  // The loop is stalled for 5.5 intervals.
  clock_.Advance(milliseconds(5500));
  loop_.RunOnce(Duration::zero());
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(probe_->starts, 2) << "one catch-up run, not five";
  EXPECT_GE(recorder_.lateness.back(), milliseconds(4500));
  Advance(milliseconds(990));
  EXPECT_EQ(probe_->starts, 3);
}

TEST_F(CheckTest, RunThatTakesItsWholeTimeoutDoesNotSkipAPeriod) {
  CheckConfig c = Config(3);
  c.timeout = c.interval;  // a hung probe ends just after the next is due
  auto check = Make(c);
  for (int i = 0; i < 10; ++i) probe_->script.push_back(ScriptedProbe::kHang);
  check->Start();
  Advance(milliseconds(3050));
  // Runs at 0, 1, 2 and 3 s: one per interval, not one per two.
  EXPECT_EQ(probe_->starts, 4);
  EXPECT_EQ(check->state(), CheckState::kFailing);
}

TEST_F(CheckTest, FirstRunsAreSpreadOverTheInterval) {
  CheckConfig c = Config();
  c.interval = seconds(10);
  c.jitter = 0.1;
  std::vector<std::unique_ptr<Check>> checks;
  std::vector<ScriptedProbe*> probes;
  for (int i = 0; i < 50; ++i) {
    checks.push_back(Make(c));
    probes.push_back(probe_);
    checks.back()->Start();
  }
  TimePoint start = loop_.Now();
  TimePoint min = TimePoint::max(), max = TimePoint::min();
  for (auto& ch : checks) {
    min = std::min(min, ch->next_run());
    max = std::max(max, ch->next_run());
    EXPECT_LT(ch->next_run() - start, seconds(10));
  }
  EXPECT_GT(max - min, seconds(5)) << "first runs are spread over the interval";
}

TEST_F(CheckTest, FirstRunSpreadIsCappedForLongIntervals) {
  CheckConfig c = Config();
  c.interval = std::chrono::hours(1);
  c.timeout = seconds(2);
  c.jitter = 0.1;
  for (int i = 0; i < 20; ++i) {
    auto check = Make(c);
    check->Start();
    EXPECT_LE(check->next_run() - loop_.Now(), Check::kMaxFirstSpread);
  }
}

TEST_F(CheckTest, ResetForgetsCountersAndReturnsToPending) {
  auto check = Make(Config(2));
  probe_->script = {ProbeOutcome::kFailure, ProbeOutcome::kFailure,
                    ProbeOutcome::kFailure};
  check->Start();
  Advance(milliseconds(1500));
  ASSERT_EQ(check->state(), CheckState::kFailing);
  check->Reset();
  EXPECT_EQ(check->state(), CheckState::kPending);
  EXPECT_EQ(check->consecutive_failures(), 0);
  Advance(seconds(1));
  EXPECT_EQ(check->state(), CheckState::kPending)
      << "one failure after a reset is below the threshold of 2";
}

TEST_F(CheckTest, FailuresInsideGraceAreReportedButNotCounted) {
  auto check = Make(Config(2));
  for (int i = 0; i < 6; ++i) probe_->script.push_back(ProbeOutcome::kFailure);
  check->IgnoreFailuresUntil(loop_.Now() + milliseconds(2500));
  check->Start();
  Advance(milliseconds(2900));
  EXPECT_EQ(recorder_.results.size(), 3u);
  EXPECT_EQ(check->state(), CheckState::kPending);
  EXPECT_EQ(check->consecutive_failures(), 0);
  Advance(seconds(1));
  EXPECT_EQ(check->consecutive_failures(), 1);
  Advance(seconds(1));
  EXPECT_EQ(check->state(), CheckState::kFailing);
}

TEST_F(CheckTest, StopCancelsTheRunInFlight) {
  auto check = Make(Config());
  probe_->script = {ScriptedProbe::kHang};
  check->Start();
  Advance(milliseconds(50));
  ASSERT_TRUE(probe_->in_flight);
  check->Stop();
  EXPECT_FALSE(probe_->in_flight);
  EXPECT_EQ(loop_.pending_timers(), 0u);
  Advance(seconds(3));
  EXPECT_TRUE(recorder_.results.empty());
}

// R1 of docs/architecture.md: the ScriptedProbe answers inside Start, yet
// the check's observers hear of it only from the loop, after Start has
// returned; an observer that resets the check then cancels nothing that is
// on the stack.
TEST_F(CheckTest, AnAnswerInsideStartReachesObserversFromTheLoop) {
  struct Resetter : CheckObserver {
    void OnProbeDone(const Check&, const ProbeResult&, Duration,
                     Duration) override {
      EXPECT_FALSE(probe->inside_start) << "observer ran inside Start";
      ++done;
      check->Reset();
    }
    void OnStateChange(const Check&, CheckState, CheckState) override {
      EXPECT_FALSE(probe->inside_start);
    }
    struct Watch {
      bool inside_start = false;
    };
    Watch* probe = nullptr;
    Check* check = nullptr;
    int done = 0;
  };
  class InsideProbe : public ScriptedProbe {
   public:
    explicit InsideProbe(Resetter::Watch* w) : watch_(w) {}
    void Start(Duration t, DoneCallback done) override {
      watch_->inside_start = true;
      ScriptedProbe::Start(t, std::move(done));
      watch_->inside_start = false;
    }

   private:
    Resetter::Watch* watch_;
  };
  Resetter::Watch watch;
  Resetter observer;
  observer.probe = &watch;
  auto probe = std::make_unique<InsideProbe>(&watch);
  InsideProbe* raw = probe.get();
  raw->script = {ProbeOutcome::kFailure, ProbeOutcome::kFailure,
                 ProbeOutcome::kSuccess};
  Check check(service_, Config(1), std::move(probe), &loop_, &random_,
              &observer);
  observer.check = &check;
  check.Start();
  Advance(milliseconds(3500));
  // Three answers inside Start, the fourth run timed out.
  EXPECT_EQ(raw->starts, 4);
  EXPECT_EQ(observer.done, 4);
  EXPECT_EQ(check.state(), CheckState::kPending) << "reset by the observer";
}

}  // namespace
}  // namespace watchd
