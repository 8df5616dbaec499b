#include "core/human_units.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace watchd {

std::string HumanDuration(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 10) {
    char buf[16];
    snprintf(buf, sizeof(buf), "%.1fs", std::floor(seconds * 10) / 10);
    return buf;
  }
  uint64_t s = static_cast<uint64_t>(seconds);
  struct Unit {
    uint64_t size;
    const char* name;
  };
  static const Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  std::string out;
  int shown = 0;
  for (const Unit& u : kUnits) {
    uint64_t n = s / u.size;
    if (n == 0 && shown == 0) continue;
    s %= u.size;
    if (n != 0) out += std::to_string(n) + u.name;
    if (++shown == 2) break;
  }
  return out;
}

std::string HumanBytes(double bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[u]);
  return buf;
}

}  // namespace watchd
