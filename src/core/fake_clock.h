// A clock that moves only when told to; for tests of timing logic.
#ifndef WATCHD_CORE_FAKE_CLOCK_H_
#define WATCHD_CORE_FAKE_CLOCK_H_

#include "core/clock.h"

namespace watchd {

class FakeClock : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  void Advance(Duration d) { now_ += d; }
  void Set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_{std::chrono::hours(1)};
};

}  // namespace watchd

#endif  // WATCHD_CORE_FAKE_CLOCK_H_
