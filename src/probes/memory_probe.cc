#include "probes/memory_probe.h"

#include "probes/process_probe.h"

namespace watchd {

void MemoryProbe::Start(Duration, DoneCallback done) {
  done_ = std::move(done);
  lookup_.Start(
      [this](Result<FoundProcess> found) { OnFound(std::move(found)); });
}

void MemoryProbe::OnFound(Result<FoundProcess> found) {
  // Moved out first: `done` may start the next run.
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  if (!found.ok()) {
    done(ProbeResult::Failure(found.status().message()));
    return;
  }
  auto st = StatOf(*found);
  if (!st.ok()) {
    done(ProbeResult::Failure(st.status().message()));
    return;
  }
  uint64_t total = st->rss_bytes;
  if (config_.include_children) {
    for (pid_t child : ReadDescendants(st->pid)) {
      // A child may exit between the listing and the read.
      if (auto r = ReadRssBytes(child); r.ok()) total += *r;
    }
  }
  const std::string what =
      std::string(config_.include_children ? "RSS with children " : "RSS ") +
      FormatBytes(total);
  ProbeResult result = total > config_.rss_max
                           ? ProbeResult::Failure(what + " exceeds " +
                                                  FormatBytes(config_.rss_max))
                           : ProbeResult::Success(what);
  result.resident_memory_bytes = total;
  done(std::move(result));
}

void MemoryProbe::Cancel() {
  lookup_.Cancel();
  done_ = nullptr;
}

}  // namespace watchd
