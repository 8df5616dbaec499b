// Waiting in tests that drive an EventLoop themselves: run it until a
// condition holds, with a deadline.
#ifndef WATCHD_TESTS_SUPPORT_LOOP_WAIT_H_
#define WATCHD_TESTS_SUPPORT_LOOP_WAIT_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/event_loop.h"

namespace watchd::testing {

// Runs `loop` until cond() holds or `limit` passes; returns cond().
template <typename Cond>
bool RunLoopUntil(EventLoop& loop, Cond cond,
                  Duration limit = std::chrono::seconds(60)) {
  TimePoint deadline = loop.Now() + limit;
  while (!cond() && loop.Now() < deadline) {
    loop.RunOnce(std::chrono::milliseconds(50));
  }
  return cond();
}

// The real steady clock plus the jumps a test makes with Advance: time
// flows as usual, and a jump puts every loop deadline before it in the past.
class SteppedClock : public Clock {
 public:
  TimePoint Now() const override {
    return Clock::Real()->Now() + Duration(offset_.load());
  }
  void Advance(Duration d) { offset_ += d.count(); }

 private:
  std::atomic<Duration::rep> offset_{0};
};

// Runs `loop` until a task queued now, and one that task queues, have run:
// every I/O callback of an fd ready before this call, every timer due by
// loop.Now(), and the tasks those queue, have then run. An absence observed
// after it is final as far as those events go. False if past `limit`.
inline bool RunLoopPastPending(EventLoop& loop,
                               Duration limit = std::chrono::seconds(60)) {
  // Shared: the tasks may outlive this call when it gives up.
  auto second_ran = std::make_shared<bool>(false);
  EventLoop* l = &loop;
  loop.RunInLoop(
      [l, second_ran] { l->RunInLoop([second_ran] { *second_ran = true; }); });
  return RunLoopUntil(
      loop, [&] { return *second_ran; }, limit);
}

// Gone or a zombie: a killed grandchild is reparented to init, which in a
// container may never reap it, so dead is all a kill can promise.
inline bool ProcessDead(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return true;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() &&
         stat[paren + 2] == 'Z';
}

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_LOOP_WAIT_H_
