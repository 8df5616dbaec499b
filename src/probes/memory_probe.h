// `memory`: the resident memory of the service's process (optionally with
// all its descendants) stays at or below rss_max.
#ifndef WATCHD_PROBES_MEMORY_PROBE_H_
#define WATCHD_PROBES_MEMORY_PROBE_H_

#include <optional>

#include "config/config.h"
#include "probes/probe.h"
#include "probes/process_source.h"

namespace watchd {

class MemoryProbe : public Probe {
 public:
  MemoryProbe(const MemoryProbeConfig& config, ProcessSource* source)
      : config_(config), lookup_(source) {}

  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;

 private:
  void OnFound(Result<FoundProcess> found);

  MemoryProbeConfig config_;
  PendingLookup lookup_;
  DoneCallback done_;
};

}  // namespace watchd

#endif  // WATCHD_PROBES_MEMORY_PROBE_H_
