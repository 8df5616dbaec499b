#include "daemon/check_reporter.h"

#include <spdlog/spdlog.h>

namespace watchd {

static_assert(static_cast<int>(ProbeOutcome::kSuccess) ==
                  static_cast<int>(ProbeOutcomeLabel::kSuccess) &&
              static_cast<int>(ProbeOutcome::kFailure) ==
                  static_cast<int>(ProbeOutcomeLabel::kFailure) &&
              static_cast<int>(ProbeOutcome::kTimeout) ==
                  static_cast<int>(ProbeOutcomeLabel::kTimeout) &&
              static_cast<int>(ProbeOutcome::kError) ==
                  static_cast<int>(ProbeOutcomeLabel::kError));

CheckReporter::CheckReporter(Metrics* metrics, const std::string& service,
                             const std::string& check, const std::string& kind)
    : metrics_(metrics), handle_(metrics->AddCheck(service, check, kind)) {}

CheckReporter::~CheckReporter() { metrics_->RemoveCheck(handle_); }

void CheckReporter::OnProbeDone(const Check&, const ProbeResult& result,
                                Duration duration, Duration lateness) {
  ProbeDetails details;
  details.http_status = result.http_status;
  details.dns_lookup_seconds = result.dns_lookup_seconds;
  details.ssl_earliest_cert_expiry = result.ssl_earliest_cert_expiry;
  // ProbeOutcomeLabel lists the outcomes in ProbeOutcome's order.
  metrics_->ObserveProbe(handle_,
                         static_cast<ProbeOutcomeLabel>(result.outcome),
                         ToSeconds(duration), details);
  metrics_->ObserveLateness(ToSeconds(lateness));
}

void CheckReporter::OnStateChange(const Check& check, CheckState from,
                                  CheckState to) {
  metrics_->SetCheckUp(handle_, to == CheckState::kPassing);
  const auto& last = check.last_result();
  const std::string reason = last ? last->reason : "";
  auto level =
      to == CheckState::kFailing ? spdlog::level::warn : spdlog::level::info;
  spdlog::log(level, "check {}/{} ({}): {} -> {}: {}", check.service(),
              check.name(), check.kind(), CheckStateName(from),
              CheckStateName(to), reason);
}

}  // namespace watchd
