#include "probes/proc_stat_probe.h"

#include <utility>

#include "os/procfs.h"

namespace watchd {

void ProcStatProbe::Start(Duration, DoneCallback done) {
  done_ = std::move(done);
  lookup_.Start([this](const ProcessLookup& found) { OnFound(found); });
}

void ProcStatProbe::Cancel() {
  lookup_.Cancel();
  done_ = nullptr;
}

ProbeResult ProcStatProbe::TimedOut(Duration timeout) {
  return ProbeResult::Error("no answer about the process within " +
                            FormatDuration(timeout) +
                            " (supervisor unresponsive)");
}

void ProcStatProbe::OnFound(const ProcessLookup& found) {
  // Moved out first: `done` may start the next run.
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  switch (found.presence) {
    case ProcessLookup::Presence::kUntrusted:
    case ProcessLookup::Presence::kUnknown:
      done(ProbeResult::Error(found.reason));
      return;
    case ProcessLookup::Presence::kAbsent:
      done(ProbeResult::Failure(found.reason));
      return;
    case ProcessLookup::Presence::kFound:
      break;
  }
  auto stat = StatOf(found.found);
  if (!stat.ok()) {
    done(ProbeResult::Failure(stat.status().message()));
    return;
  }
  done(Judge(*stat));
}

}  // namespace watchd
