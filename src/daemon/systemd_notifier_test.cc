#include "daemon/systemd_notifier.h"

#include <gtest/gtest.h>
#include <time.h>

#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/fake_clock.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class SystemdNotifierTest : public ::testing::Test {
 protected:
  SystemdNotifierTest()
      : loop_(&clock_),
        notifier_(
            &loop_, [this](const std::string& m) { sent_.push_back(m); },
            [this] { return summary_; }) {}

  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  // The loop keeping time: it runs every `step` of the fake clock.
  void Advance(Duration d, Duration step = milliseconds(10)) {
    for (Duration done{0}; done < d; done += step) {
      clock_.Advance(step);
      loop_.RunOnce(Duration::zero());
    }
  }
  // The loop stalled for `d` (a callback that blocked), then runs.
  void Stall(Duration d) {
    clock_.Advance(d);
    loop_.RunOnce(Duration::zero());
  }

  int Count(const std::string& prefix) const {
    int n = 0;
    for (const auto& m : sent_) n += m.rfind(prefix, 0) == 0;
    return n;
  }

  FakeClock clock_;
  EventLoop loop_;
  std::string summary_ = "1 service: 1 ok";
  std::vector<std::string> sent_;
  SystemdNotifier notifier_;
};

TEST(StatusLineTest, CountsEveryStateThatHasServices) {
  std::array<size_t, kServiceStateCount> counts{};
  EXPECT_EQ(StatusLine(counts), "0 services");
  counts[static_cast<size_t>(ServiceState::kOk)] = 1;
  EXPECT_EQ(StatusLine(counts), "1 service: 1 ok");
  counts[static_cast<size_t>(ServiceState::kOk)] = 40;
  counts[static_cast<size_t>(ServiceState::kHung)] = 1;
  counts[static_cast<size_t>(ServiceState::kFailing)] = 1;
  EXPECT_EQ(StatusLine(counts), "42 services: 40 ok, 1 failing, 1 hung");
}

TEST_F(SystemdNotifierTest, ReadyCarriesTheStatus) {
  notifier_.Ready();
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(sent_[0], "READY=1\nSTATUS=1 service: 1 ok");
}

TEST_F(SystemdNotifierTest, StatusAtMostOnceASecondAndTheLastAlwaysSent) {
  notifier_.Ready();
  sent_.clear();
  // A flapping service: a change every 100 ms for 3 s.
  for (int i = 0; i < 30; ++i) {
    summary_ = "1 service: 1 " + std::string(i % 2 ? "ok" : "failing");
    notifier_.ServicesChanged();
    Advance(milliseconds(100));
  }
  summary_ = "1 service: 1 hung";
  notifier_.ServicesChanged();
  Advance(seconds(2));
  ASSERT_FALSE(sent_.empty());
  EXPECT_LE(sent_.size(), 5u);  // ~3 s of changes
  EXPECT_EQ(sent_.back(), "STATUS=1 service: 1 hung");
}

TEST_F(SystemdNotifierTest, ABurstInOnePassMakesOneLine) {
  notifier_.Ready();
  sent_.clear();
  Advance(seconds(2));
  for (int i = 0; i < 500; ++i) notifier_.ServicesChanged();
  summary_ = "500 services: 500 failing";
  Advance(milliseconds(20));
  EXPECT_EQ(sent_,
            std::vector<std::string>{"STATUS=500 services: 500 failing"});
}

TEST_F(SystemdNotifierTest, AnUnchangedLineIsNotRepeated) {
  notifier_.Ready();
  sent_.clear();
  notifier_.ServicesChanged();
  Advance(seconds(2));
  EXPECT_TRUE(sent_.empty());
}

TEST_F(SystemdNotifierTest, ReloadingCarriesTheMonotonicClock) {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t before = ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
  notifier_.Reloading();
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t after = ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
  ASSERT_EQ(sent_.size(), 1u);
  const std::string& m = sent_[0];
  ASSERT_EQ(m.rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << m;
  const uint64_t usec = std::stoull(m.substr(m.find('=', 12) + 1));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
  // Ready() ends the reload with the status line, even an unchanged one.
  notifier_.Ready();
  EXPECT_EQ(sent_.back(), "READY=1\nSTATUS=1 service: 1 ok");
}

TEST_F(SystemdNotifierTest, StoppingEndsStatusUpdates) {
  notifier_.Ready();
  summary_ = "1 service: 1 failing";
  notifier_.ServicesChanged();
  notifier_.Stopping("stopping");
  notifier_.ServicesChanged();
  Advance(seconds(3));
  EXPECT_EQ(sent_.back(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_EQ(Count("STATUS="), 0);
}

TEST_F(SystemdNotifierTest, WatchdogPingsEveryHalfTimeoutWhileOnSchedule) {
  notifier_.StartWatchdog(seconds(4));
  Advance(milliseconds(1990));
  EXPECT_EQ(Count("WATCHDOG=1"), 0);
  Advance(milliseconds(20));
  EXPECT_EQ(Count("WATCHDOG=1"), 1);
  Advance(seconds(8));
  EXPECT_EQ(Count("WATCHDOG=1"), 5);
  EXPECT_FALSE(notifier_.behind());
}

TEST_F(SystemdNotifierTest, AStallPastAQuarterSkipsThePingAndALaterLookPings) {
  notifier_.StartWatchdog(seconds(4));
  Advance(seconds(2) + milliseconds(10));
  ASSERT_EQ(Count("WATCHDOG=1"), 1);
  // The next ping is due 2 s on; the loop is stuck 3.1 s: 1.1 s late.
  Stall(milliseconds(3100));
  EXPECT_EQ(Count("WATCHDOG=1"), 1);
  EXPECT_TRUE(notifier_.behind());
  // On time again: the next look, 0.5 s on, pings well inside systemd's
  // 4 s since the last ping.
  Advance(milliseconds(510));
  EXPECT_EQ(Count("WATCHDOG=1"), 2);
  EXPECT_FALSE(notifier_.behind());
}

TEST_F(SystemdNotifierTest, ALateButNotFarBehindLoopStillPings) {
  notifier_.StartWatchdog(seconds(4));
  Stall(milliseconds(2900));  // due at 2 s: 0.9 s late, within 1 s
  EXPECT_EQ(Count("WATCHDOG=1"), 1);
  EXPECT_FALSE(notifier_.behind());
}

TEST_F(SystemdNotifierTest, ALoopThatStaysBehindNeverPings) {
  notifier_.StartWatchdog(seconds(4));
  for (int i = 0; i < 10; ++i) Stall(seconds(4));
  EXPECT_EQ(Count("WATCHDOG=1"), 0);
  EXPECT_TRUE(notifier_.behind());
}

TEST(SystemdNotifierDisabledTest, WithoutASenderNothingHappens) {
  FakeClock clock;
  EventLoop loop(&clock);
  ASSERT_TRUE(loop.Init().ok());
  int summaries = 0;
  SystemdNotifier notifier(&loop, nullptr, [&] {
    ++summaries;
    return std::string("x");
  });
  notifier.Ready();
  notifier.ServicesChanged();
  notifier.StartWatchdog(seconds(2));
  for (int i = 0; i < 400; ++i) {
    clock.Advance(milliseconds(10));
    loop.RunOnce(Duration::zero());
  }
  notifier.Stopping("stopping");
  EXPECT_EQ(summaries, 0);
}

}  // namespace
}  // namespace watchd
