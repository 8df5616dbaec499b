#include "core/clock.h"

#include <cstdint>

namespace watchd {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

std::string FormatDuration(Duration d) {
  static constexpr struct {
    const char* name;
    int64_t nanos;
  } kUnits[] = {
      {"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000},
      {"ms", 1'000'000},        {"us", 1'000},         {"ns", 1}};
  int64_t nanos = d.count();
  if (nanos == 0) return "0s";
  std::string out;
  if (nanos < 0) {
    out.push_back('-');
    nanos = -nanos;
  }
  for (const auto& unit : kUnits) {
    int64_t count = nanos / unit.nanos;
    if (count == 0) continue;
    out += std::to_string(count);
    out += unit.name;
    nanos -= count * unit.nanos;
  }
  return out;
}

Clock* Clock::Real() {
  static SteadyClock clock;
  return &clock;
}

}  // namespace watchd
