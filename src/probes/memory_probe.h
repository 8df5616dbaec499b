// `memory`: the resident memory of the service's process (optionally with
// all its descendants) stays at or below rss_max.
#ifndef WATCHD_PROBES_MEMORY_PROBE_H_
#define WATCHD_PROBES_MEMORY_PROBE_H_

#include "config/config.h"
#include "probes/proc_stat_probe.h"

namespace watchd {

class MemoryProbe : public ProcStatProbe {
 public:
  MemoryProbe(const MemoryProbeConfig& config, ProcessSource* source)
      : ProcStatProbe(source), config_(config) {}

 private:
  ProbeResult Judge(const ProcStat& stat) override;

  MemoryProbeConfig config_;
};

}  // namespace watchd

#endif  // WATCHD_PROBES_MEMORY_PROBE_H_
