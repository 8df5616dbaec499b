#include "probes/process_probe.h"

#include <cstdio>

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

void ProcessProbe::Start(Duration, DoneCallback done) {
  lookup_.Start([this,
                 done = std::move(done)](Result<ProcessIdentity> identity) {
    if (!identity.ok()) {
      done(ProbeResult::Failure(identity.status().message()));
      return;
    }
    const ProcessIdentity& who = *identity;
    auto st = ReadProcStat(who.pid);
    const std::string pid = "pid " + std::to_string(who.pid);
    if (!st.ok()) {
      done(ProbeResult::Failure(pid + " is gone"));
      return;
    }
    if (st->start_time != who.start_time) {
      done(ProbeResult::Failure(pid + " is another process now (recycled)"));
      return;
    }
    if (st->state == 'Z' || st->state == 'X') {
      done(ProbeResult::Failure(pid + " is a zombie"));
      return;
    }
    ProbeResult result = ProbeResult::Success(
        pid + " " + ProcStateName(st->state) + ", up " +
        FormatDuration(std::chrono::seconds(
            static_cast<int64_t>(ProcessUptimeSeconds(st->start_time)))));
    if (auto rss = ReadRssBytes(who.pid); rss.ok()) {
      result.resident_memory_bytes = *rss;
    }
    done(std::move(result));
  });
}

void ProcessProbe::Cancel() { lookup_.Cancel(); }

}  // namespace watchd
