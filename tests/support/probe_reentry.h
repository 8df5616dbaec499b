// A probe driven as a Check drives it at worst: each `done` cancels the
// probe (a no-op by then) and starts its next run at once, and the last one
// destroys it — the re-entrancy every probe must survive (docs/architecture
// .md, "Callbacks and re-entrancy").
#ifndef WATCHD_TESTS_SUPPORT_PROBE_REENTRY_H_
#define WATCHD_TESTS_SUPPORT_PROBE_REENTRY_H_

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "core/event_loop.h"
#include "probes/probe.h"
#include "tests/support/loop_wait.h"

namespace watchd::testing {

// Runs `probe` `runs` times that way on `loop`; the results, once the probe
// is gone (fewer if it is not gone within `limit`: the caller asserts).
inline std::vector<ProbeResult> RunRestartingFromDone(
    std::unique_ptr<Probe> probe, EventLoop& loop, Duration timeout,
    size_t runs = 3, Duration limit = std::chrono::seconds(60)) {
  std::vector<ProbeResult> results;
  std::function<void(ProbeResult)> done = [&](ProbeResult r) {
    results.push_back(std::move(r));
    probe->Cancel();
    if (results.size() < runs) {
      probe->Start(timeout, done);
    } else {
      probe.reset();
    }
  };
  probe->Start(timeout, done);
  if (!RunLoopUntil(
          loop, [&] { return probe == nullptr; }, limit)) {
    results.clear();
  }
  return results;
}

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_PROBE_REENTRY_H_
