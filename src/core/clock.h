// Monotonic time for everything the loop schedules; a fake in tests.
#ifndef WATCHD_CORE_CLOCK_H_
#define WATCHD_CORE_CLOCK_H_

#include <chrono>
#include <string>

namespace watchd {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;

  // The process-wide steady clock.
  static Clock* Real();
};

// Seconds as a double, for metrics and logs.
inline double ToSeconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

// The shortest exact text of a duration, as the config reads it back:
// "0s", "250ms", "1m30s", "2h".
std::string FormatDuration(Duration d);

}  // namespace watchd

#endif  // WATCHD_CORE_CLOCK_H_
