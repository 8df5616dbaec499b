#include "probes/memory_probe.h"

#include <string>

#include "os/procfs.h"
#include "probes/process_probe.h"

namespace watchd {

ProbeResult MemoryProbe::Judge(const ProcStat& st) {
  uint64_t total = st.rss_bytes;
  if (config_.include_children) {
    for (pid_t child : ReadDescendants(st.pid)) {
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
  return result;
}

}  // namespace watchd
