// `process`: the service's process exists, is not a zombie, and is the one
// recorded (same start time). Reports its state, uptime and RSS.
#ifndef WATCHD_PROBES_PROCESS_PROBE_H_
#define WATCHD_PROBES_PROCESS_PROBE_H_

#include <string>

#include "probes/proc_stat_probe.h"

namespace watchd {

class ProcessProbe : public ProcStatProbe {
 public:
  explicit ProcessProbe(ProcessSource* source) : ProcStatProbe(source) {}

 private:
  ProbeResult Judge(const ProcStat& stat) override;
};

// "42.0MiB": bytes in binary units for reasons and logs.
std::string FormatBytes(uint64_t bytes);

}  // namespace watchd

#endif  // WATCHD_PROBES_PROCESS_PROBE_H_
