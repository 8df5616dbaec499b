#include "probes/probe.h"

namespace watchd {

const char* ProbeOutcomeName(ProbeOutcome outcome) {
  switch (outcome) {
    case ProbeOutcome::kSuccess:
      return "success";
    case ProbeOutcome::kFailure:
      return "failure";
    case ProbeOutcome::kTimeout:
      return "timeout";
    case ProbeOutcome::kError:
      return "error";
  }
  return "error";
}

ProbeResult Probe::TimedOut(Duration timeout) {
  return ProbeResult(ProbeOutcome::kTimeout,
                     "timeout after " + FormatDuration(timeout));
}

}  // namespace watchd
