// `process`: the service's process exists, is not a zombie, and is the one
// recorded (same start time). Reports its state, uptime and RSS.
#ifndef WATCHD_PROBES_PROCESS_PROBE_H_
#define WATCHD_PROBES_PROCESS_PROBE_H_

#include <optional>

#include "probes/probe.h"
#include "probes/process_source.h"

namespace watchd {

class ProcessProbe : public Probe {
 public:
  explicit ProcessProbe(ProcessSource* source) : lookup_(source) {}

  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;

 private:
  void OnFound(Result<FoundProcess> found);

  PendingLookup lookup_;
  DoneCallback done_;
};

// "42.0MiB": bytes in binary units for reasons and logs.
std::string FormatBytes(uint64_t bytes);

}  // namespace watchd

#endif  // WATCHD_PROBES_PROCESS_PROBE_H_
