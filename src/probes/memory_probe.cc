#include "probes/memory_probe.h"

#include "probes/process_probe.h"

namespace watchd {

void MemoryProbe::Start(Duration, DoneCallback done) {
  lookup_.Start([this,
                 done = std::move(done)](Result<ProcessIdentity> identity) {
    if (!identity.ok()) {
      done(ProbeResult::Failure(identity.status().message()));
      return;
    }
    auto rss = ReadRssBytes(identity->pid);
    auto st = ReadProcStat(identity->pid);
    if (!rss.ok() || !st.ok() || st->start_time != identity->start_time) {
      done(ProbeResult::Failure("pid " + std::to_string(identity->pid) +
                                " is gone"));
      return;
    }
    uint64_t total = *rss;
    if (config_.include_children) {
      for (pid_t child : ReadDescendants(identity->pid)) {
        // A child may exit between the listing and the read.
        if (auto r = ReadRssBytes(child); r.ok()) total += *r;
      }
    }
    const std::string what =
        std::string(config_.include_children ? "RSS with children " : "RSS ") +
        FormatBytes(total);
    ProbeResult result =
        total > config_.rss_max
            ? ProbeResult::Failure(what + " exceeds " +
                                   FormatBytes(config_.rss_max))
            : ProbeResult::Success(what);
    result.resident_memory_bytes = total;
    done(std::move(result));
  });
}

void MemoryProbe::Cancel() { lookup_.Cancel(); }

}  // namespace watchd
