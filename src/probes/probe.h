// A probe runs one health test asynchronously on the event loop and reports
// one ProbeResult. The Check that owns it handles timeouts and thresholds.
#ifndef WATCHD_PROBES_PROBE_H_
#define WATCHD_PROBES_PROBE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"

namespace watchd {

// Same order as metrics' ProbeOutcomeLabel (the daemon casts between them).
enum class ProbeOutcome { kSuccess, kFailure, kTimeout, kError };

// "success", "failure", "timeout", "error" (the result label of metrics).
const char* ProbeOutcomeName(ProbeOutcome outcome);

struct ProbeResult {
  ProbeResult() = default;
  ProbeResult(ProbeOutcome o, std::string why)
      : outcome(o), reason(std::move(why)) {}

  ProbeOutcome outcome = ProbeOutcome::kError;
  // Short and human: "connection refused", "status 503", "NXDOMAIN".
  std::string reason;
  // Kind-specific observations, exported as metrics when set.
  std::optional<int> http_status;
  std::optional<double> dns_lookup_seconds;
  std::optional<double> ssl_earliest_cert_expiry;  // unix seconds
  std::optional<uint64_t> resident_memory_bytes;

  static ProbeResult Success(std::string reason = "ok") {
    return ProbeResult(ProbeOutcome::kSuccess, std::move(reason));
  }
  // The service answered wrongly (status 503, body did not match, refused).
  static ProbeResult Failure(std::string reason) {
    return ProbeResult(ProbeOutcome::kFailure, std::move(reason));
  }
  // watchd could not run the test at all (bad URL, out of fds, exec failed).
  static ProbeResult Error(std::string reason) {
    return ProbeResult(ProbeOutcome::kError, std::move(reason));
  }
};

class Probe {
 public:
  using DoneCallback = std::function<void(ProbeResult)>;

  virtual ~Probe() = default;
  // Starts one run, which ends by calling `done` exactly once (possibly
  // before Start returns: the Check defers such an answer to the loop)
  // unless Cancel() comes first; calling `done` is the probe's last act.
  // `timeout` is advisory: the owning Check cancels the run when it expires, so
  // a probe need not time itself out. Never called while a run is in flight.
  virtual void Start(Duration timeout, DoneCallback done) = 0;
  // Abandons the run in flight, releasing its sockets and children; `done`
  // is not called afterwards. A no-op when idle. Destruction implies it.
  virtual void Cancel() = 0;
  // The result of a run the Check's timeout ends. Called just before
  // Cancel, with the run still in flight, so it can say how far the run got
  // ("timeout after 2s (waiting for response)"); it must not end the run.
  virtual ProbeResult TimedOut(Duration timeout);
};

}  // namespace watchd

#endif  // WATCHD_PROBES_PROBE_H_
