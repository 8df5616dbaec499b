#include "core/clock.h"

namespace watchd {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

std::string FormatDuration(Duration d) {
  using std::chrono::duration_cast;
  auto ms = duration_cast<std::chrono::milliseconds>(d).count();
  if (ms < 1000) {
    if (ms == 0 && d.count() > 0) {
      return std::to_string(
                 duration_cast<std::chrono::microseconds>(d).count()) +
             "us";
    }
    return std::to_string(ms) + "ms";
  }
  std::string out;
  int64_t rest = ms;
  const struct {
    int64_t unit;
    const char* suffix;
  } kUnits[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& u : kUnits) {
    if (rest >= u.unit) {
      out += std::to_string(rest / u.unit) + u.suffix;
      rest %= u.unit;
    }
  }
  return out;
}

Clock* Clock::Real() {
  static SteadyClock clock;
  return &clock;
}

}  // namespace watchd
