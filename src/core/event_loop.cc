#include "core/event_loop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace watchd {
namespace {

constexpr uint64_t kFdMask = 0xffffffffu;

// epoll_event.data carries the fd and the generation of its watch, so an
// event queued for an fd that was unwatched (and maybe reused) in the same
// batch is recognised as stale and dropped.
uint64_t Pack(int fd, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | static_cast<uint32_t>(fd);
}

std::string Errno(const char* what) {
  return std::string(what) + ": " + strerror(errno);
}

}  // namespace

EventLoop::EventLoop(Clock* clock)
    : clock_(clock), epoch_(clock->Now()), wheel_(0), events_(256) {}

EventLoop::~EventLoop() {
  if (task_fd_ >= 0) close(task_fd_);
  if (signal_fd_ >= 0) close(signal_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

Status EventLoop::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::Error(Errno("epoll_create1"));
  task_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (task_fd_ < 0) return Status::Error(Errno("eventfd"));
  return Watch(task_fd_, EPOLLIN, [this](uint32_t) { RunTasks(); });
}

void EventLoop::RunInLoop(std::function<void()> task) {
  bool first;
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    first = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  // A non-empty queue has its wake-up written already, and RunTasks reads
  // the eventfd before it takes the queue, so no task is left behind.
  if (first) {
    uint64_t one = 1;
    // Cannot fail: the counter is far from overflowing.
    [[maybe_unused]] ssize_t n = write(task_fd_, &one, sizeof(one));
  }
}

void EventLoop::RunTasks() {
  uint64_t count;
  [[maybe_unused]] ssize_t n = read(task_fd_, &count, sizeof(count));
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

Status EventLoop::Watch(int fd, uint32_t events, IoCallback cb) {
  if (fd < 0) return Status::Error("epoll_ctl: bad file descriptor");
  if (static_cast<size_t>(fd) >= fds_.size()) {
    fds_.resize(std::max<size_t>(fd + 1, fds_.size() * 2));
  }
  Watcher& w = fds_[fd];
  const bool exists = w.generation != 0;
  // Never 0, which marks a free entry.
  uint32_t generation = next_generation_++;
  if (generation == 0) generation = next_generation_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = Pack(fd, generation);
  if (epoll_ctl(epoll_fd_, exists ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) !=
      0) {
    return Status::Error(Errno("epoll_ctl"));
  }
  w.generation = generation;
  w.cb = std::move(cb);
  return Status::Ok();
}

void EventLoop::Unwatch(int fd) {
  if (!IsWatched(fd)) return;
  // Fails harmlessly when the owner already closed the fd.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  fds_[fd] = Watcher();
}

void EventLoop::UnwatchAndClose(int fd) {
  if (IsWatched(fd)) fds_[fd] = Watcher();
  close(fd);
}

uint64_t EventLoop::TickOf(TimePoint t) const {
  if (t <= epoch_) return 0;
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t - epoch_)
          .count());
}

uint64_t EventLoop::TickAtOrAfter(TimePoint t) const {
  uint64_t tick = TickOf(t);
  if (epoch_ + std::chrono::milliseconds(tick) < t) ++tick;
  return tick;
}

void EventLoop::ScheduleAt(Timer* t, TimePoint when) {
  // A time already reached fires in this pass of the loop, not a tick later:
  // work handed over with a zero delay (curl's "act now") is not held back.
  if (when <= clock_->Now()) {
    wheel_.Schedule(t, wheel_.now());
    return;
  }
  // Round up, so a timer never fires before its time.
  wheel_.Schedule(t, TickAtOrAfter(when));
}

TimePoint EventLoop::Coalesce(TimePoint when, Duration max_grain) const {
  uint64_t tick = TickAtOrAfter(when);
  auto grain_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::min(grain_, max_grain));
  uint64_t g = std::max<int64_t>(1, grain_ms.count());
  tick = (tick + g - 1) / g * g;
  return epoch_ + std::chrono::milliseconds(tick);
}

Status EventLoop::HandleSignals(const std::vector<int>& signals,
                                SignalCallback cb) {
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : signals) sigaddset(&mask, s);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return Status::Error("pthread_sigmask failed");
  }
  int fd = signalfd(signal_fd_, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return Status::Error(Errno("signalfd"));
  signal_fd_ = fd;
  signal_cb_ = std::move(cb);
  return Watch(signal_fd_, EPOLLIN, [this](uint32_t) { OnSignalReadable(); });
}

void EventLoop::OnSignalReadable() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    if (signal_cb_) signal_cb_(static_cast<int>(info.ssi_signo));
  }
}

Duration EventLoop::EpollTimeout(Duration wait) {
  // select_estimate_accuracy() in fs/select.c: slack of timeout / 1000 for
  // a task of nice 0 (/ 200 when niced), at most 100 ms. An idle loop
  // sleeping 15 s would otherwise start its check up to 15 ms late.
  constexpr Duration kExact = std::chrono::seconds(1);
  constexpr Duration kMaxSlack = std::chrono::milliseconds(100);
  if (wait <= kExact) return wait;
  return wait - std::min<Duration>(wait / 200, kMaxSlack);
}

int EventLoop::Wait(std::optional<Duration> wait) {
  const int max_events = static_cast<int>(events_.size());
  if (wait) wait = EpollTimeout(*wait);
  // epoll_pwait2 sleeps to the nanosecond: epoll_wait's whole milliseconds,
  // rounded up, would make every timer up to 1 ms late.
  if (!no_pwait2_) {
    timespec ts{};
    if (wait) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*wait);
      ts.tv_sec = static_cast<time_t>(ns.count() / 1000000000);
      ts.tv_nsec = static_cast<long>(ns.count() % 1000000000);
    }
    int n = epoll_pwait2(epoll_fd_, events_.data(), max_events,
                         wait ? &ts : nullptr, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    no_pwait2_ = true;  // a kernel before 5.11, or a seccomp filter
  }
  int timeout_ms =
      wait ? static_cast<int>(
                 std::chrono::ceil<std::chrono::milliseconds>(*wait).count())
           : -1;
  return epoll_wait(epoll_fd_, events_.data(), max_events, timeout_ms);
}

void EventLoop::RunTimers() { wheel_.Advance(TickOf(clock_->Now())); }

int EventLoop::RunOnce(std::optional<Duration> max_wait) {
  RunTimers();
  // How long until the next timer; none: until I/O.
  std::optional<Duration> wait;
  if (auto ticks = wheel_.TicksUntilNext()) {
    // Far timers (or far cascade points) need no exact wait: waking once an
    // hour and asking again costs nothing and keeps the arithmetic in range.
    constexpr uint64_t kMaxWaitTicks = 3600 * 1000;
    TimePoint due =
        epoch_ + std::chrono::milliseconds(wheel_.now() +
                                           std::min(*ticks, kMaxWaitTicks));
    wait = std::max(Duration::zero(), due - clock_->Now());
  }
  if (max_wait && (!wait || *max_wait < *wait)) {
    wait = std::max(Duration::zero(), *max_wait);
  }
  int n = Wait(wait);
  int ran = 0;
  if (n < 0 && errno != EINTR) n = 0;
  for (int i = 0; i < n; ++i) {
    int fd = static_cast<int>(events_[i].data.u64 & kFdMask);
    uint32_t generation = static_cast<uint32_t>(events_[i].data.u64 >> 32);
    if (!IsWatched(fd) || fds_[fd].generation != generation) continue;
    // Copy: the callback may unwatch its own fd (or grow fds_), destroying
    // the original.
    IoCallback cb = fds_[fd].cb;
    cb(events_[i].events);
    ++ran;
  }
  if (n == static_cast<int>(events_.size())) events_.resize(events_.size() * 2);
  RunTimers();
  return ran;
}

void EventLoop::Run() {
  stopped_ = false;
  while (!stopped_) RunOnce();
}

}  // namespace watchd
