#include "core/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace watchd {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// Timers that append their id to a shared log when they fire.
class Recorder {
 public:
  explicit Recorder(size_t n) : timers_(n) {
    for (size_t i = 0; i < n; ++i) {
      timers_[i].set_callback([this, i] { fired_.push_back(i); });
    }
  }
  Timer* operator[](size_t i) { return &timers_[i]; }
  std::vector<size_t>& fired() { return fired_; }

 private:
  std::vector<Timer> timers_;
  std::vector<size_t> fired_;
};

TEST(TimerWheelTest, EmptyWheelHasNoNextExpiry) {
  TimerWheel wheel(5);
  EXPECT_EQ(wheel.now(), 5u);
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_FALSE(wheel.TicksUntilNext().has_value());
  wheel.Advance(1000);
  EXPECT_EQ(wheel.now(), 1000u);
}

TEST(TimerWheelTest, FiresInExpiryOrderAcrossLevels) {
  // Both sides of slot and level boundaries, then every level up to 10.
  std::vector<uint64_t> expiries = {1,    2,    63,   64,   65,     127,   128,
                                    4095, 4096, 4097, 5000, 262143, 262144};
  for (int bits : {24, 30, 36, 42, 48, 54, 60, 63}) {
    expiries.push_back(uint64_t{1} << bits);
    expiries.push_back((uint64_t{1} << bits) + 5);
  }
  std::vector<size_t> order(expiries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(42));

  TimerWheel wheel;
  Recorder rec(expiries.size());
  for (size_t i : order) wheel.Schedule(rec[i], expiries[i]);
  EXPECT_EQ(wheel.size(), expiries.size());

  // Stepping tick by tick is impossible this far out; jump to each
  // expiry's neighbourhood and check nothing fires early.
  for (size_t i = 0; i < expiries.size(); ++i) {
    wheel.Advance(expiries[i] - 1);
    EXPECT_EQ(rec.fired().size(), i) << "expiry " << expiries[i];
    EXPECT_TRUE(rec[i]->pending());
    wheel.Advance(expiries[i]);
    ASSERT_EQ(rec.fired().size(), i + 1) << "expiry " << expiries[i];
    EXPECT_EQ(rec.fired().back(), i);
    EXPECT_FALSE(rec[i]->pending());
  }
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, OneJumpRunsEveryLevelInOrder) {
  TimerWheel wheel;
  Recorder rec(6);
  wheel.Schedule(rec[0], 1ull << 40);
  wheel.Schedule(rec[1], 3);
  wheel.Schedule(rec[2], 70000);
  wheel.Schedule(rec[3], 64);
  wheel.Schedule(rec[4], 1ull << 20);
  wheel.Schedule(rec[5], (1ull << 40) + 1);
  wheel.Advance(1ull << 40);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{1, 3, 2, 4, 0}));
  EXPECT_EQ(wheel.TicksUntilNext(), 1u);
}

TEST(TimerWheelTest, TiesFireInSchedulingOrder) {
  TimerWheel wheel;
  Recorder rec(4);
  // Armed far out first (a high level), then close by (level 0): the
  // cascade must not reorder them.
  wheel.Schedule(rec[2], 5000);
  wheel.Schedule(rec[0], 5000);
  wheel.Advance(4990);
  wheel.Schedule(rec[3], 5000);
  wheel.Schedule(rec[1], 5000);
  // Re-arming moves a timer to the back of its tie.
  wheel.Schedule(rec[2], 5000);
  wheel.Advance(6000);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{0, 3, 1, 2}));
}

TEST(TimerWheelTest, DueTimerWaitsForNextAdvance) {
  TimerWheel wheel(100);
  Recorder rec(3);
  wheel.Schedule(rec[0], 100);
  wheel.Schedule(rec[1], 7);
  wheel.Schedule(rec[2], 0);
  EXPECT_EQ(wheel.TicksUntilNext(), 0u);
  EXPECT_TRUE(rec.fired().empty());
  wheel.Advance(100);
  // Order of expiry, even for timers already late when armed.
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{2, 1, 0}));
  EXPECT_FALSE(wheel.TicksUntilNext().has_value());
}

TEST(TimerWheelTest, AdvanceNeverMovesTimeBack) {
  TimerWheel wheel(100);
  Recorder rec(1);
  wheel.Schedule(rec[0], 101);
  wheel.Advance(50);
  EXPECT_EQ(wheel.now(), 100u);
  EXPECT_TRUE(rec.fired().empty());
  EXPECT_EQ(wheel.TicksUntilNext(), 1u);
}

TEST(TimerWheelTest, CancelPendingTimer) {
  TimerWheel wheel;
  Recorder rec(3);
  wheel.Schedule(rec[0], 10);
  wheel.Schedule(rec[1], 10);
  wheel.Schedule(rec[2], 100000);
  wheel.Cancel(rec[0]);
  wheel.Cancel(rec[2]);
  EXPECT_FALSE(rec[0]->pending());
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Cancel(rec[0]);  // not pending: a no-op
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Advance(200000);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{1}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CancelledSlotNoLongerWakesTheLoop) {
  TimerWheel wheel;
  Timer a, b;
  wheel.Schedule(&a, 10);
  wheel.Schedule(&b, 300);
  wheel.Cancel(&a);
  EXPECT_EQ(wheel.TicksUntilNext(), 300u);
  wheel.Cancel(&b);
  EXPECT_FALSE(wheel.TicksUntilNext().has_value());
}

TEST(TimerWheelTest, CallbackCancelsOrDestroysTimersDueInSameAdvance) {
  TimerWheel wheel;
  std::vector<int> fired;
  Timer later([&] { fired.push_back(2); });
  auto doomed = std::make_unique<Timer>([&] { fired.push_back(3); });
  Timer first([&] {
    fired.push_back(1);
    wheel.Cancel(&later);
    doomed.reset();
  });
  Timer last([&] { fired.push_back(4); });
  wheel.Schedule(&first, 10);
  wheel.Schedule(&later, 20);
  wheel.Schedule(doomed.get(), 30);
  wheel.Schedule(&last, 40);
  wheel.Advance(100);
  EXPECT_EQ(fired, (std::vector<int>{1, 4}));
  EXPECT_FALSE(later.pending());
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, CallbackReschedulesTimerDueInSameAdvance) {
  TimerWheel wheel;
  std::vector<int> fired;
  Timer moved([&] { fired.push_back(2); });
  Timer first([&] {
    fired.push_back(1);
    wheel.Schedule(&moved, 500);
  });
  wheel.Schedule(&first, 10);
  wheel.Schedule(&moved, 20);
  wheel.Advance(100);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  EXPECT_TRUE(moved.pending());
  EXPECT_EQ(moved.expires(), 500u);
  wheel.Advance(500);
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(TimerWheelTest, SelfRearmAtNowRunsOncePerAdvance) {
  TimerWheel wheel;
  int runs = 0;
  Timer t;
  t.set_callback([&] {
    ++runs;
    wheel.Schedule(&t, wheel.now());
  });
  wheel.Schedule(&t, 5);
  wheel.Advance(5);
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(t.pending());
  EXPECT_EQ(wheel.TicksUntilNext(), 0u);
  wheel.Advance(5);
  EXPECT_EQ(runs, 2);
  wheel.Cancel(&t);
  wheel.Advance(6);
  EXPECT_EQ(runs, 2);
}

TEST(TimerWheelTest, PeriodicTimerCatchesUpOneRunPerAdvance) {
  TimerWheel wheel;
  std::vector<uint64_t> at;
  Timer t;
  t.set_callback([&] {
    at.push_back(wheel.now());
    wheel.Schedule(&t, t.expires() + 7);
  });
  wheel.Schedule(&t, 7);
  for (uint64_t now = 1; now <= 30; ++now) wheel.Advance(now);
  EXPECT_EQ(at, (std::vector<uint64_t>{7, 14, 21, 28}));
  // A stall: the late re-arms fire one per Advance, not in a burst.
  wheel.Advance(100);
  EXPECT_EQ(at.size(), 5u);
  wheel.Advance(100);
  EXPECT_EQ(at.size(), 6u);
  EXPECT_EQ(t.expires(), 49u);
}

TEST(TimerWheelTest, FarFutureTimers) {
  TimerWheel wheel;
  Recorder rec(4);
  wheel.Schedule(rec[0], 1ull << 40);
  wheel.Schedule(rec[1], kMax - 1);
  wheel.Schedule(rec[2], kMax);
  wheel.Schedule(rec[3], kMax);
  auto next = wheel.TicksUntilNext();
  ASSERT_TRUE(next.has_value());
  EXPECT_LE(*next, 1ull << 40);
  wheel.Advance((1ull << 40) - 1);
  EXPECT_TRUE(rec.fired().empty());
  wheel.Advance(1ull << 40);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{0}));
  next = wheel.TicksUntilNext();
  ASSERT_TRUE(next.has_value());
  EXPECT_LE(*next, kMax - 1 - (1ull << 40));
  wheel.Advance(kMax - 2);
  EXPECT_EQ(rec.fired().size(), 1u);
  wheel.Advance(kMax - 1);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(wheel.TicksUntilNext(), 1u);
  wheel.Advance(kMax);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, WheelStartingNearTheEndOfTime) {
  TimerWheel wheel(kMax - 100);
  Recorder rec(2);
  wheel.Schedule(rec[1], kMax);
  wheel.Schedule(rec[0], kMax - 1);
  wheel.Advance(kMax);
  EXPECT_EQ(rec.fired(), (std::vector<size_t>{0, 1}));
}

TEST(TimerWheelTest, LongStallFiresEachTimerOnceInOrder) {
  constexpr size_t kTimers = 100000;
  constexpr uint64_t kStall = 1000000000;
  TimerWheel wheel;
  Recorder rec(kTimers);
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint64_t, size_t>> want;
  for (size_t i = 0; i < kTimers; ++i) {
    uint64_t e = 1 + rng() % kStall;
    wheel.Schedule(rec[i], e);
    want.emplace_back(e, i);
  }
  std::stable_sort(want.begin(), want.end(),
                   [](auto& a, auto& b) { return a.first < b.first; });
  wheel.Advance(kStall);
  ASSERT_EQ(rec.fired().size(), kTimers);
  for (size_t i = 0; i < kTimers; ++i) {
    ASSERT_EQ(rec.fired()[i], want[i].second) << i;
  }
  EXPECT_EQ(wheel.size(), 0u);
  // A tick-by-tick wheel could not get through this jump at all.
  wheel.Schedule(rec[0], 1ull << 62);
  wheel.Advance(1ull << 63);
  EXPECT_EQ(rec.fired().size(), kTimers + 1);
}

TEST(TimerWheelTest, FewTimersGiveExactNextExpiry) {
  TimerWheel wheel(1000);
  Timer a, b;
  wheel.Schedule(&a, 1000 + 30000);
  EXPECT_EQ(wheel.TicksUntilNext(), 30000u);
  wheel.Schedule(&b, 1000 + 29000);
  EXPECT_EQ(wheel.TicksUntilNext(), 29000u);
  wheel.Advance(1000 + 29000);
  EXPECT_EQ(wheel.TicksUntilNext(), 1000u);
}

TEST(TimerWheelTest, CrowdedSlotGivesItsCascadePoint) {
  TimerWheel wheel;
  std::vector<Timer> timers(100);
  for (size_t i = 0; i < timers.size(); ++i) {
    wheel.Schedule(&timers[i], 5000 + i);
  }
  EXPECT_EQ(wheel.TicksUntilNext(), 4096u);
  wheel.Advance(4096);
  EXPECT_EQ(wheel.TicksUntilNext(), 4992u - 4096u);
}

// An idle loop that sleeps for TicksUntilNext() wakes exactly at each
// expiry, and otherwise only at the cascade points of crowded slots: with
// timers spread thin, about once per timer, never once per tick.
TEST(TimerWheelTest, IdleLoopWakesOnTimeAndRarely) {
  constexpr size_t kTimers = 1000;
  TimerWheel wheel;
  std::vector<uint64_t> late;
  std::vector<Timer> timers(kTimers);
  std::mt19937_64 rng(11);
  for (auto& t : timers) {
    t.set_callback([&] {
      if (wheel.now() != t.expires()) late.push_back(t.expires());
    });
    wheel.Schedule(&t, 1 + rng() % (1ull << (rng() % 50)));
  }
  size_t wakeups = 0;
  while (auto next = wheel.TicksUntilNext()) {
    ASSERT_GT(*next, 0u);
    wheel.Advance(wheel.now() + *next);
    ++wakeups;
  }
  EXPECT_TRUE(late.empty());
  EXPECT_LE(wakeups, kTimers + kTimers / 10);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, DestroyingPendingTimerCancelsIt) {
  TimerWheel wheel;
  int runs = 0;
  auto t = std::make_unique<Timer>([&] { ++runs; });
  wheel.Schedule(t.get(), 1000);
  auto due = std::make_unique<Timer>([&] { ++runs; });
  wheel.Schedule(due.get(), 0);
  EXPECT_EQ(wheel.size(), 2u);
  t.reset();
  due.reset();
  EXPECT_EQ(wheel.size(), 0u);
  EXPECT_FALSE(wheel.TicksUntilNext().has_value());
  wheel.Advance(5000);
  EXPECT_EQ(runs, 0);
}

TEST(TimerWheelTest, DestroyingWheelDetachesPendingTimers) {
  int runs = 0;
  Timer due([&] { ++runs; });
  Timer far([&] { ++runs; });
  Timer idle;
  {
    auto wheel = std::make_unique<TimerWheel>(10);
    wheel->Schedule(&due, 5);
    wheel->Schedule(&far, 1ull << 50);
    wheel.reset();
  }
  EXPECT_FALSE(due.pending());
  EXPECT_FALSE(far.pending());
  // Detached timers are plain timers again: re-armable elsewhere.
  TimerWheel other;
  other.Schedule(&far, 3);
  other.Advance(3);
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(idle.pending());
}

TEST(TimerWheelTest, SchedulingOnAnotherWheelMovesTheTimer) {
  TimerWheel a, b;
  int runs = 0;
  Timer t([&] { ++runs; });
  a.Schedule(&t, 5);
  b.Schedule(&t, 5);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.size(), 1u);
  a.Advance(10);
  EXPECT_EQ(runs, 0);
  a.Cancel(&t);  // disarms t, whichever wheel holds it
  EXPECT_EQ(b.size(), 0u);
  b.Advance(10);
  EXPECT_EQ(runs, 0);
}

TEST(TimerWheelTest, SizeCountsPendingTimers) {
  TimerWheel wheel;
  Timer a, b, c;
  wheel.Schedule(&a, 10);
  wheel.Schedule(&b, 20);
  wheel.Schedule(&c, 0);
  EXPECT_EQ(wheel.size(), 3u);
  wheel.Schedule(&a, 15);  // re-arming is not a second timer
  EXPECT_EQ(wheel.size(), 3u);
  size_t seen_in_callback = 0;
  a.set_callback([&] {
    seen_in_callback = wheel.size();
    wheel.Schedule(&a, 100);
  });
  wheel.Advance(15);
  EXPECT_EQ(seen_in_callback, 1u);  // b; a and c ran or are running
  EXPECT_EQ(wheel.size(), 2u);
  wheel.Cancel(&b);
  EXPECT_EQ(wheel.size(), 1u);
  wheel.Advance(100);
  EXPECT_EQ(wheel.size(), 1u);  // a re-armed itself again
  wheel.Cancel(&a);
  EXPECT_EQ(wheel.size(), 0u);
}

// Random schedules, cancels, re-arms and jumps of every magnitude, checked
// against a brute-force model: same timers fire, in the same order, and
// TicksUntilNext() is never later than the true earliest expiry.
class Model {
 public:
  void Schedule(size_t id, uint64_t expires) {
    pending_[id] = {expires, ++seq_};
  }
  void Cancel(size_t id) { pending_.erase(id); }
  // Due timers in firing order, removed.
  std::vector<size_t> Advance(uint64_t now) {
    std::vector<std::pair<std::pair<uint64_t, uint64_t>, size_t>> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.first <= now) {
        due.push_back({it->second, it->first});
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    std::sort(due.begin(), due.end());
    std::vector<size_t> ids;
    for (auto& d : due) ids.push_back(d.second);
    return ids;
  }
  std::optional<uint64_t> Earliest() const {
    std::optional<uint64_t> min;
    for (auto& [id, p] : pending_) {
      if (!min || p.first < *min) min = p.first;
    }
    return min;
  }
  size_t size() const { return pending_.size(); }

 private:
  std::map<size_t, std::pair<uint64_t, uint64_t>> pending_;
  uint64_t seq_ = 0;
};

void CheckNextNeverLate(const TimerWheel& wheel, const Model& model) {
  auto next = wheel.TicksUntilNext();
  auto earliest = model.Earliest();
  ASSERT_EQ(next.has_value(), earliest.has_value());
  if (!earliest) return;
  uint64_t until = *earliest > wheel.now() ? *earliest - wheel.now() : 0;
  ASSERT_LE(*next, until);
  ASSERT_EQ(*next == 0, until == 0);
}

// A distance below 2^max_bits, spread evenly over magnitudes.
uint64_t RandomDistance(std::mt19937_64& rng, int max_bits) {
  int bits = static_cast<int>(rng() % (max_bits + 1));
  return bits == 0 ? 0 : rng() >> (64 - bits);
}

TEST(TimerWheelTest, RandomOperationsMatchBruteForce) {
  constexpr size_t kTimers = 64;
  // Small scales crowd timers into few ticks (ties, level 0); large ones
  // spread them over every level up to the end of time.
  constexpr int kScales[] = {3, 7, 12, 18, 26, 40, 63};
  size_t ops = 0;
  size_t fires = 0;
  for (uint64_t seed = 1; seed <= 35; ++seed) {
    const int scale = kScales[seed % std::size(kScales)];
    SCOPED_TRACE(testing::Message() << "seed " << seed << " scale " << scale);
    std::mt19937_64 rng(seed);
    uint64_t start = seed % 2 == 0 ? 0 : rng() >> (rng() % 64);
    TimerWheel wheel(start);
    Model model;
    std::vector<size_t> fired;
    Recorder rec(kTimers);
    // Some timers re-arm themselves from their callback, like checks.
    for (size_t i = 0; i < kTimers; i += 4) {
      rec[i]->set_callback([&, i] {
        fired.push_back(i);
        uint64_t d = RandomDistance(rng, std::min(scale, 12));
        uint64_t e = d > kMax - wheel.now() ? kMax : wheel.now() + d;
        wheel.Schedule(rec[i], e);
        model.Schedule(i, e);
      });
    }
    for (size_t i = 0; i < kTimers; ++i) {
      if (i % 4 != 0) {
        rec[i]->set_callback([&, i] { fired.push_back(i); });
      }
    }
    for (int op = 0; op < 4000 && wheel.now() != kMax; ++op, ++ops) {
      size_t id = rng() % kTimers;
      switch (rng() % 8) {
        case 0:
        case 1:
        case 2: {
          uint64_t now = wheel.now();
          uint64_t d = RandomDistance(rng, scale);
          // Now and then in the past or at the very end of time.
          uint64_t e = rng() % 16 == 0   ? now - std::min(now, d)
                       : rng() % 64 == 0 ? kMax - rng() % 4
                       : d > kMax - now  ? kMax
                                         : now + d;
          wheel.Schedule(rec[id], e);
          model.Schedule(id, e);
          break;
        }
        case 3:
          wheel.Cancel(rec[id]);
          model.Cancel(id);
          break;
        default: {
          uint64_t d = RandomDistance(rng, rng() % 4 == 0 ? scale : scale / 2);
          uint64_t now = wheel.now() > kMax - d ? kMax : wheel.now() + d;
          if (rng() % 3 == 0) {
            // Sleep as an idle loop would, to land on cascade points.
            auto next = wheel.TicksUntilNext();
            if (next) now = wheel.now() + *next;
          }
          std::vector<size_t> want = model.Advance(now);
          fired.clear();
          wheel.Advance(now);
          ASSERT_EQ(fired, want) << "advance to " << now;
          fires += want.size();
          break;
        }
      }
      ASSERT_EQ(wheel.size(), model.size());
      CheckNextNeverLate(wheel, model);
    }
  }
  // The walk must have done real work, not stalled at the end of time.
  EXPECT_GT(ops, 35u * 3000);
  EXPECT_GT(fires, 35u * 500);
}

}  // namespace
}  // namespace watchd
