// Waiting on conditions with deadlines: tests never sleep a fixed time.
#ifndef WATCHD_TESTS_SUPPORT_WAIT_H_
#define WATCHD_TESTS_SUPPORT_WAIT_H_

#include <chrono>
#include <functional>
#include <thread>

namespace watchd::testing {

// Polls `cond` until it holds or `timeout` passes; returns its last value.
inline bool WaitFor(
    const std::function<bool()>& cond, std::chrono::milliseconds timeout,
    std::chrono::milliseconds poll = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_WAIT_H_
