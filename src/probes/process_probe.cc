#include "probes/process_probe.h"

#include <chrono>
#include <cstdio>

#include "os/procfs.h"

namespace watchd {

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) {
    snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(bytes));
  } else {
    snprintf(buf, sizeof(buf), "%.1f%s", v, kUnits[unit]);
  }
  return buf;
}

ProbeResult ProcessProbe::Judge(const ProcStat& st) {
  ProbeResult result = ProbeResult::Success(
      "pid " + std::to_string(st.pid) + " " + ProcStateName(st.state) +
      ", up " +
      FormatDuration(std::chrono::seconds(
          static_cast<int64_t>(ProcessUptimeSeconds(st.start_time)))));
  result.resident_memory_bytes = st.rss_bytes;
  return result;
}

}  // namespace watchd
