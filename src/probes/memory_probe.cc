#include "probes/memory_probe.h"

#include <string>
#include <vector>

#include "os/procfs.h"
#include "probes/process_probe.h"

namespace watchd {
namespace {

// Descendants summed per run at most: the walk and reads run on the loop,
// every interval, and a runaway fork must not make each run cost seconds.
constexpr size_t kMaxChildren = 1024;

}  // namespace

ProbeResult MemoryProbe::Judge(const ProcStat& st) {
  uint64_t total = st.rss_bytes;
  bool cut = false;
  if (config_.include_children) {
    const std::vector<pid_t> children = ReadDescendants(st.pid, kMaxChildren);
    cut = children.size() == kMaxChildren;
    for (pid_t child : children) {
      // A child may exit between the listing and the read.
      if (auto r = ReadRssBytes(child); r.ok()) total += *r;
    }
  }
  const std::string what =
      (!config_.include_children ? std::string("RSS ")
       : cut ? "RSS with its first " + std::to_string(kMaxChildren) +
                   " descendants "
             : std::string("RSS with children ")) +
      FormatBytes(total);
  ProbeResult result = total > config_.rss_max
                           ? ProbeResult::Failure(what + " exceeds " +
                                                  FormatBytes(config_.rss_max))
                           : ProbeResult::Success(what);
  result.resident_memory_bytes = total;
  return result;
}

}  // namespace watchd
