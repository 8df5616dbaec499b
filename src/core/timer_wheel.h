// A hierarchical timing wheel of one-shot timers: O(1) schedule and cancel,
// time counted in integer ticks (the event loop uses 1 tick = 1 ms).
#ifndef WATCHD_CORE_TIMER_WHEEL_H_
#define WATCHD_CORE_TIMER_WHEEL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

namespace watchd {

class TimerWheel;

// One timer, embedded in the object that owns it (intrusive: scheduling
// allocates nothing). Destroying a pending timer cancels it. Not copyable.
class Timer {
 public:
  using Callback = std::function<void()>;

  Timer() = default;
  explicit Timer(Callback cb) : cb_(std::move(cb)) {}
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void set_callback(Callback cb) { cb_ = std::move(cb); }
  bool pending() const { return wheel_ != nullptr; }
  // The tick it is due at; meaningful while pending.
  uint64_t expires() const { return expires_; }

 private:
  friend class TimerWheel;
  Timer* prev_ = nullptr;
  Timer* next_ = nullptr;
  TimerWheel* wheel_ = nullptr;
  uint64_t expires_ = 0;
  uint64_t seq_ = 0;   // order of scheduling, breaks ties of expires_
  uint32_t list_ = 0;  // which of the wheel's lists holds it
  Callback cb_;
};

class TimerWheel {
 public:
  explicit TimerWheel(uint64_t now = 0);
  // Pending timers are detached (left not pending), never run.
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms t to fire at tick `expires` (absolute); re-arms it if pending. A
  // tick at or before now() fires on the next Advance().
  void Schedule(Timer* t, uint64_t expires);
  // Disarms t; a no-op when it is not pending.
  void Cancel(Timer* t);

  // Moves time forward to `now` and runs the callback of every timer due at
  // or before it, in order of expiry (ties in order of scheduling). A jump of
  // any length costs O(expired + levels), not O(ticks). Callbacks may
  // schedule or cancel any timer; one armed for a tick <= now during this
  // call fires on the next call, so a callback cannot starve the loop.
  void Advance(uint64_t now);

  uint64_t now() const { return now_; }
  // Ticks from now() to the earliest pending expiry (0 if one is due), or
  // nullopt when none is pending. Never later than that expiry; it may be
  // earlier (a cascade point), so a sleeping loop is never late.
  std::optional<uint64_t> TicksUntilNext() const;
  size_t size() const { return size_; }

 private:
  // Levels of slots, a bitmap of non-empty slots per level, the due list.
  struct Impl;
  // Puts t in the list its expiry calls for relative to now_.
  void Link(Timer* t);
  // Takes t out of whatever list holds it.
  void Unlink(Timer* t);
  // Moves every timer due by `now` into impl_->batch and re-files the rest
  // of the slots that time passes, then sets now_ = now.
  void Collect(uint64_t now);

  uint64_t now_;
  uint64_t next_seq_ = 0;
  size_t size_ = 0;
  Impl* impl_;
};

}  // namespace watchd

#endif  // WATCHD_CORE_TIMER_WHEEL_H_
