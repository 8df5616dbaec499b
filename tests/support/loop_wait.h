// Waiting in tests that drive an EventLoop themselves: run it until a
// condition holds, with a deadline.
#ifndef WATCHD_TESTS_SUPPORT_LOOP_WAIT_H_
#define WATCHD_TESTS_SUPPORT_LOOP_WAIT_H_

#include <sys/types.h>

#include <chrono>
#include <fstream>
#include <string>

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
