// The timing wheel against an indexed binary heap (the usual alternative:
// O(log n) schedule and cancel), on the operations the event loop performs.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "core/timer_wheel.h"

namespace watchd {
namespace {

// A min-heap of (expiry, sequence) whose timers know their position, so
// cancel and re-arm are O(log n) in place; keys sit in the array so sifting
// does not chase pointers. Same contract as TimerWheel.
class HeapTimerQueue {
 public:
  struct Timer {
    std::function<void()> cb;
    uint64_t expires = 0;
    size_t pos = kNone;
  };

  explicit HeapTimerQueue(uint64_t now = 0) : now_(now) {}

  void Schedule(Timer* t, uint64_t expires) {
    t->expires = expires;
    Entry e{expires, next_seq_++, t};
    if (t->pos == kNone) {
      heap_.push_back(e);
      t->pos = heap_.size() - 1;
      SiftUp(t->pos);
    } else {
      size_t i = t->pos;
      bool earlier = Less(e, heap_[i]);
      heap_[i] = e;
      earlier ? SiftUp(i) : SiftDown(i);
    }
  }

  void Cancel(Timer* t) {
    if (t->pos == kNone) return;
    size_t i = t->pos;
    t->pos = kNone;
    Entry last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;
    bool earlier = Less(last, heap_[i]);
    Place(i, last);
    earlier ? SiftUp(i) : SiftDown(i);
  }

  // Runs what is due by `now` in order; stops at the first timer armed
  // during the call, so a callback re-arming itself at `now` cannot loop.
  void Advance(uint64_t now) {
    now_ = now;
    uint64_t limit = next_seq_;
    while (!heap_.empty() && heap_[0].expires <= now && heap_[0].seq < limit) {
      Timer* t = heap_[0].timer;
      Cancel(t);
      t->cb();
    }
  }

  uint64_t now() const { return now_; }
  std::optional<uint64_t> TicksUntilNext() const {
    if (heap_.empty()) return std::nullopt;
    return heap_[0].expires > now_ ? heap_[0].expires - now_ : 0;
  }

 private:
  static constexpr size_t kNone = ~size_t{0};
  struct Entry {
    uint64_t expires;
    uint64_t seq;
    Timer* timer;
  };
  static bool Less(const Entry& a, const Entry& b) {
    return a.expires != b.expires ? a.expires < b.expires : a.seq < b.seq;
  }
  void Place(size_t i, const Entry& e) {
    heap_[i] = e;
    e.timer->pos = i;
  }
  void SiftUp(size_t i) {
    Entry e = heap_[i];
    while (i > 0 && Less(e, heap_[(i - 1) / 2])) {
      Place(i, heap_[(i - 1) / 2]);
      i = (i - 1) / 2;
    }
    Place(i, e);
  }
  void SiftDown(size_t i) {
    Entry e = heap_[i];
    size_t n = heap_.size();
    for (;;) {
      size_t c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && Less(heap_[c + 1], heap_[c])) ++c;
      if (!Less(heap_[c], e)) break;
      Place(i, heap_[c]);
      i = c;
    }
    Place(i, e);
  }

  uint64_t now_;
  uint64_t next_seq_ = 0;
  std::vector<Entry> heap_;
};

struct WheelImpl {
  using Queue = TimerWheel;
  using Timer = watchd::Timer;
  static void SetCallback(Timer* t, std::function<void()> cb) {
    t->set_callback(std::move(cb));
  }
};

struct HeapImpl {
  using Queue = HeapTimerQueue;
  using Timer = HeapTimerQueue::Timer;
  static void SetCallback(Timer* t, std::function<void()> cb) {
    t->cb = std::move(cb);
  }
};

// Delays drawn ahead of time so the timed loops measure the queue, not the
// random number generator: 1 ms to ~17 min, spread over magnitudes.
std::vector<uint64_t> RandomDelays(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> delays(n);
  for (auto& d : delays) d = 1 + rng() % (uint64_t{1} << (1 + rng() % 20));
  return delays;
}

// (a) Schedule then cancel one timer while N others are pending: the cost
// of arming and disarming a probe timeout that rarely fires.
template <typename Impl>
void BM_ScheduleCancel(benchmark::State& state) {
  const size_t n = state.range(0);
  typename Impl::Queue queue;
  std::vector<typename Impl::Timer> timers(n);
  std::vector<uint64_t> delays = RandomDelays(n, 1);
  for (size_t i = 0; i < n; ++i) queue.Schedule(&timers[i], delays[i]);
  std::vector<uint64_t> probe = RandomDelays(4096, 2);
  typename Impl::Timer t;
  size_t i = 0;
  for (auto _ : state) {
    queue.Schedule(&t, probe[i++ & 4095]);
    queue.Cancel(&t);
  }
  state.SetItemsProcessed(state.iterations());
}

// (a') Re-arm one of N pending timers to a new time (cancel + schedule of a
// timer that sits somewhere in the structure, not at its edge).
template <typename Impl>
void BM_Rearm(benchmark::State& state) {
  const size_t n = state.range(0);
  typename Impl::Queue queue;
  std::vector<typename Impl::Timer> timers(n);
  std::vector<uint64_t> delays = RandomDelays(n, 1);
  for (size_t i = 0; i < n; ++i) queue.Schedule(&timers[i], delays[i]);
  std::vector<uint64_t> probe = RandomDelays(4096, 2);
  std::vector<size_t> order(4096);
  std::mt19937_64 rng(3);
  for (auto& o : order) o = rng() % n;
  size_t i = 0;
  for (auto _ : state) {
    auto* t = &timers[order[i & 4095]];
    queue.Cancel(t);
    queue.Schedule(t, probe[i++ & 4095]);
  }
  state.SetItemsProcessed(state.iterations());
}

// (b) The watchd workload: N periodic checks with random periods of 1 s to
// 60 s (1 tick = 1 ms), each re-arming itself when it fires; the loop sleeps
// until TicksUntilNext() and advances there. Cost per fired timer.
template <typename Impl>
void BM_Periodic(benchmark::State& state) {
  const size_t n = state.range(0);
  typename Impl::Queue queue;
  std::vector<typename Impl::Timer> timers(n);
  std::mt19937_64 rng(4);
  uint64_t fired = 0;
  for (size_t i = 0; i < n; ++i) {
    auto* t = &timers[i];
    uint64_t period = 1000 + rng() % 59001;
    Impl::SetCallback(t, [t, period, &queue, &fired] {
      ++fired;
      queue.Schedule(t, queue.now() + period);
    });
    // A phase uniform over the period is already the steady state.
    queue.Schedule(t, 1 + rng() % period);
  }
  uint64_t wakeups = 0;
  for (auto _ : state) {
    queue.Advance(queue.now() + *queue.TicksUntilNext());
    ++wakeups;
  }
  state.SetItemsProcessed(fired);
  state.counters["time_per_fire"] = benchmark::Counter(
      static_cast<double>(fired),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["fires_per_wakeup"] =
      static_cast<double>(fired) / static_cast<double>(wakeups);
}

// Both queues at N = lo .. 10^6 pending timers.
#define TIMER_BENCH(fn, lo)                                                   \
  BENCHMARK_TEMPLATE(fn, WheelImpl)->RangeMultiplier(10)->Range(lo, 1000000); \
  BENCHMARK_TEMPLATE(fn, HeapImpl)->RangeMultiplier(10)->Range(lo, 1000000)

TIMER_BENCH(BM_ScheduleCancel, 1000);
TIMER_BENCH(BM_Rearm, 1000);
// Down to a handful of checks, where wakeups per fire matter most.
TIMER_BENCH(BM_Periodic, 10);

}  // namespace
}  // namespace watchd

BENCHMARK_MAIN();
