#include "config/duration.h"

#include <array>
#include <cstdint>

namespace watchd {
namespace {

struct Unit {
  std::string_view name;
  int64_t nanos;
};

// Longest names first so "ms" is not read as "m" followed by junk.
constexpr std::array<Unit, 6> kUnits = {{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUnitChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string Quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) {
    return Status::Error(
        "empty duration; expected a number with a unit, e.g. 10s");
  }
  if (text[0] == '-') {
    return Status::Error("duration " + Quote(text) + " must not be negative");
  }
  bool all_number = true;
  for (char c : text) {
    if (!IsDigit(c) && c != '.' && c != '+') all_number = false;
  }
  if (all_number) {
    return Status::Error("duration needs a unit, e.g. 10s (got " + Quote(text) +
                         ")");
  }
  const auto max_nanos =
      static_cast<unsigned __int128>(kMaxConfigDuration.count());
  unsigned __int128 total = 0;
  size_t i = 0;
  while (i < text.size()) {
    // 20 digits fit in 128 bits even times the largest unit; more is too long.
    size_t start = i;
    unsigned __int128 whole = 0;
    while (i < text.size() && IsDigit(text[i])) {
      whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
      if (i - start >= 20) {
        return Status::Error("duration " + Quote(text) +
                             " is too long (the maximum is " +
                             FormatDuration(kMaxConfigDuration) + ")");
      }
      ++i;
    }
    bool has_whole = i > start;
    unsigned __int128 frac = 0;
    unsigned __int128 frac_scale = 1;
    bool has_frac = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      size_t frac_start = i;
      while (i < text.size() && IsDigit(text[i])) {
        // Past 18 digits a fraction is below a nanosecond of any unit.
        if (i - frac_start < 18) {
          frac = frac * 10 + static_cast<unsigned>(text[i] - '0');
          frac_scale *= 10;
        }
        ++i;
      }
      has_frac = i > frac_start;
    }
    if (!has_whole && !has_frac) {
      return Status::Error(
          "invalid duration " + Quote(text) +
          ": expected a number with a unit, e.g. 10s or 1m30s");
    }
    size_t unit_start = i;
    while (i < text.size() && IsUnitChar(text[i])) ++i;
    std::string_view unit_name = text.substr(unit_start, i - unit_start);
    if (unit_name.empty() && i < text.size()) {
      return Status::Error("invalid duration " + Quote(text) + ": unexpected " +
                           Quote(text.substr(i, 1)));
    }
    if (unit_name.empty()) {
      return Status::Error("invalid duration " + Quote(text) +
                           ": every number needs a unit (ns, us, ms, s, m, h)");
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (u.name == unit_name) unit = &u;
    }
    if (unit == nullptr) {
      return Status::Error("invalid duration " + Quote(text) +
                           ": unknown unit " + Quote(unit_name) +
                           " (use ns, us, ms, s, m or h)");
    }
    auto nanos = static_cast<unsigned __int128>(unit->nanos);
    total += whole * nanos + frac * nanos / frac_scale;
    if (total > max_nanos) {
      return Status::Error("duration " + Quote(text) +
                           " is too long (the maximum is " +
                           FormatDuration(kMaxConfigDuration) + ")");
    }
  }
  return Duration(static_cast<int64_t>(total));
}

}  // namespace watchd
