#include "probes/proc_stat_probe.h"

#include <utility>

#include "core/procfs.h"

namespace watchd {

void ProcStatProbe::Start(Duration, DoneCallback done) {
  done_ = std::move(done);
  lookup_.Start(
      [this](Result<FoundProcess> found) { OnFound(std::move(found)); });
}

void ProcStatProbe::Cancel() {
  lookup_.Cancel();
  done_ = nullptr;
}

void ProcStatProbe::OnFound(Result<FoundProcess> found) {
  // Moved out first: `done` may start the next run.
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  if (!found.ok()) {
    done(ProbeResult::Failure(found.status().message()));
    return;
  }
  auto stat = StatOf(*found);
  if (!stat.ok()) {
    done(ProbeResult::Failure(stat.status().message()));
    return;
  }
  done(Judge(*stat));
}

}  // namespace watchd
