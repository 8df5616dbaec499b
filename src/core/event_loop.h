// The one thread that owns all of watchd's state: epoll over every socket,
// signals through a signalfd, timers on a timing wheel. Nothing on it blocks.
#ifndef WATCHD_CORE_EVENT_LOOP_H_
#define WATCHD_CORE_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/timer_wheel.h"

namespace watchd {

class EventLoop {
 public:
  // events: a mask of EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP.
  using IoCallback = std::function<void(uint32_t events)>;
  using SignalCallback = std::function<void(int signo)>;

  explicit EventLoop(Clock* clock = Clock::Real());
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Init();

  // The one call that is safe from any thread (after Init): runs `task` on
  // the loop, in a later pass (never inside this call, even on the loop's
  // own thread), in the order tasks were given. Other threads reach the
  // loop's state only this way. A task given from a task runs in the next
  // pass, so tasks cannot starve I/O. Tasks still queued when the loop is
  // destroyed are destroyed without running; the owner stops the threads
  // that call this before destroying the loop.
  void RunInLoop(std::function<void()> task);

  // Watches fd (level-triggered) for `events`; replaces an earlier watch of
  // the same fd. Unwatch before closing the fd. A callback may watch or
  // unwatch any fd, its own included; an unwatched fd gets no more calls.
  Status Watch(int fd, uint32_t events, IoCallback cb);
  void Unwatch(int fd);
  // Unwatch and close(fd) in one: closing drops the epoll registration, so
  // this spares the EPOLL_CTL_DEL (fds must not be shared with others).
  void UnwatchAndClose(int fd);
  bool IsWatched(int fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < fds_.size() &&
           fds_[fd].generation != 0;
  }

  // Timers fire at or after their time, never before; resolution 1 ms.
  void ScheduleAt(Timer* t, TimePoint when);
  void ScheduleAfter(Timer* t, Duration delay) { ScheduleAt(t, Now() + delay); }
  void Cancel(Timer* t) { wheel_.Cancel(t); }
  // `when` rounded up to the loop's grid of the smaller of the coalescing
  // grain and `max_grain` (whole ms from the loop's start, at least 1):
  // timers placed on the same grid point fire in one wake-up.
  TimePoint Coalesce(TimePoint when, Duration max_grain) const;
  // The grid step of Coalesce; 1 ms (the tick) until set.
  void set_coalescing_grain(Duration grain) { grain_ = grain; }
  Duration coalescing_grain() const { return grain_; }

  // Blocks `signals` for the calling thread (call before starting other
  // threads so they inherit the mask) and delivers them on the loop.
  Status HandleSignals(const std::vector<int>& signals, SignalCallback cb);

  // One pass: waits for I/O until the next timer is due (at most max_wait,
  // forever when both are absent), then runs ready I/O callbacks and due
  // timers. Returns how many I/O callbacks ran.
  int RunOnce(std::optional<Duration> max_wait = std::nullopt);
  // Runs until Stop() is called (from a callback).
  void Run();
  void Stop() { stopped_ = true; }
  bool stopped() const { return stopped_; }

  TimePoint Now() const { return clock_->Now(); }
  Clock* clock() const { return clock_; }

  // What to ask epoll for to wake by `wait`: Linux lets a poll timeout
  // fire late by 0.1% of its length (0.5% when niced, up to 100 ms), so a
  // wait over a second is asked short by that much and its rest slept again.
  static Duration EpollTimeout(Duration wait);
  size_t pending_timers() const { return wheel_.size(); }

 private:
  struct Watcher {
    uint32_t generation = 0;  // 0: not watched
    IoCallback cb;
  };

  uint64_t TickOf(TimePoint t) const;         // ms since epoch_, rounded down
  uint64_t TickAtOrAfter(TimePoint t) const;  // the same, rounded up
  void RunTimers();
  // epoll for up to `wait` (nullopt: until I/O); returns epoll's count.
  int Wait(std::optional<Duration> wait);
  void OnSignalReadable();
  void RunTasks();

  Clock* clock_;
  TimePoint epoch_;
  Duration grain_ = std::chrono::milliseconds(1);
  TimerWheel wheel_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  SignalCallback signal_cb_;
  uint32_t next_generation_ = 1;
  // Indexed by fd: fds are small and dense, and a probe watches a new one
  // every run, so a map's node allocation and hashing would cost per run.
  std::vector<Watcher> fds_;
  std::vector<epoll_event> events_;
  bool stopped_ = false;
  bool no_pwait2_ = false;
  // An eventfd, written when a task is queued on an empty queue.
  int task_fd_ = -1;
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;  // guarded by tasks_mutex_
};

}  // namespace watchd

#endif  // WATCHD_CORE_EVENT_LOOP_H_
