#include "config/size.h"

#include <array>
#include <limits>
#include <string>

namespace watchd {
namespace {

struct Unit {
  std::string_view name;
  uint64_t bytes;
};

constexpr std::array<Unit, 10> kUnits = {{
    {"B", 1},
    {"kB", 1'000},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"TB", 1'000'000'000'000},
    {"KiB", uint64_t{1} << 10},
    {"MiB", uint64_t{1} << 20},
    {"GiB", uint64_t{1} << 30},
    {"TiB", uint64_t{1} << 40},
}};

std::string Quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  size_t i = 0;
  uint64_t number = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto digit = static_cast<uint64_t>(text[i] - '0');
    if (number > (kMax - digit) / 10) {
      return Status::Error("size " + Quote(text) + " is too large");
    }
    number = number * 10 + digit;
    ++i;
  }
  if (i == 0) {
    return Status::Error("invalid size " + Quote(text) +
                         ": expected an integer with a unit, e.g. 512MiB, or "
                         "a number of bytes");
  }
  std::string_view unit_name = text.substr(i);
  if (unit_name.empty()) return number;
  for (const Unit& unit : kUnits) {
    if (unit.name != unit_name) continue;
    if (number > kMax / unit.bytes) {
      return Status::Error("size " + Quote(text) + " is too large");
    }
    return number * unit.bytes;
  }
  return Status::Error("invalid size " + Quote(text) + ": unknown unit " +
                       Quote(unit_name) +
                       " (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)");
}

}  // namespace watchd
