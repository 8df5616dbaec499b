// The common run of the `process` and `memory` probes: look the service's
// process up through its ProcessSource, verify it (StatOf), and let the
// kind judge the verified /proc/PID/stat. A process that is absent or
// cannot be verified fails the run with the lookup's reason; a lookup that
// cannot tell which process is the service's (supervisor unreachable,
// untrusted pidfile) is an error, not a failure.
#ifndef WATCHD_PROBES_PROC_STAT_PROBE_H_
#define WATCHD_PROBES_PROC_STAT_PROBE_H_

#include "probes/probe.h"
#include "probes/process_source.h"

namespace watchd {

struct ProcStat;

class ProcStatProbe : public Probe {
 public:
  explicit ProcStatProbe(ProcessSource* source) : lookup_(source) {}

  void Start(Duration timeout, DoneCallback done) final;
  void Cancel() final;
  // Only the lookup can take time: its source (a supervisor) did not answer.
  ProbeResult TimedOut(Duration timeout) final;

 protected:
  virtual ProbeResult Judge(const ProcStat& stat) = 0;

 private:
  void OnFound(const ProcessLookup& found);

  PendingLookup lookup_;
  DoneCallback done_;
};

}  // namespace watchd

#endif  // WATCHD_PROBES_PROC_STAT_PROBE_H_
