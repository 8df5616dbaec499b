#include "daemon/service_reporter.h"

#include <spdlog/spdlog.h>

namespace watchd {

ServiceReporter::ServiceReporter(Metrics* metrics, const std::string& service)
    : metrics_(metrics), handle_(metrics->AddService(service)) {
  metrics_->SetServiceState(handle_, ServiceStateName(ServiceState::kOk));
}

ServiceReporter::~ServiceReporter() { metrics_->RemoveService(handle_); }

void ServiceReporter::OnServiceStateChange(const Service& service,
                                           ServiceState from, ServiceState to,
                                           const std::string& reason) {
  metrics_->SetServiceState(handle_, ServiceStateName(to));
  auto level = to == ServiceState::kOk || to == ServiceState::kStarting ||
                       to == ServiceState::kRestarting
                   ? spdlog::level::info
                   : spdlog::level::warn;
  spdlog::log(level, "service {}: {} -> {}{}{}", service.name(),
              ServiceStateName(from), ServiceStateName(to),
              reason.empty() ? "" : ": ", reason);
}

void ServiceReporter::OnRestart(const Service& service,
                                const std::string& reason,
                                const std::string& detail) {
  metrics_->IncRestart(handle_, reason);
  spdlog::warn("service {}: asking the supervisor to {} {} ({})",
               service.name(), reason == "dead" ? "start" : "restart",
               service.config().program, detail);
}

void ServiceReporter::OnRestartDone(const Service& service,
                                    const Status& result) {
  if (result.ok()) {
    spdlog::info("service {}: the supervisor is done; start_grace {} begins",
                 service.name(), FormatDuration(service.config().start_grace));
    return;
  }
  metrics_->IncRestartFailure(handle_);
  spdlog::error("service {}: restart failed: {}", service.name(),
                result.message());
}

void ServiceReporter::OnEscalation(const Service& service,
                                   const ProcessIdentity& process,
                                   int descendants, const Status& result) {
  if (result.ok()) {
    spdlog::warn(
        "service {}: stop did not end pid {} within {}: sent SIGKILL{}",
        service.name(), process.pid,
        FormatDuration(service.config().stop_timeout),
        descendants == 0
            ? std::string()
            : " (and to " + std::to_string(descendants) + " process" +
                  (descendants == 1 ? "" : "es") + " of its tree)");
  } else {
    spdlog::warn("service {}: stop hung past {}, SIGKILL not sent: {}",
                 service.name(), FormatDuration(service.config().stop_timeout),
                 result.message());
  }
}

void ServiceReporter::OnResidentMemory(const Service&, uint64_t bytes) {
  metrics_->SetResidentMemory(handle_, static_cast<double>(bytes));
}

void ServiceReporter::OnNotice(const Service& service,
                               const std::string& text) {
  spdlog::warn("service {}: {}", service.name(), text);
}

}  // namespace watchd
