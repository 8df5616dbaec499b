#include "daemon/service_reporter.h"

#include <spdlog/spdlog.h>

#include "daemon/systemd_notifier.h"
#include "metrics/series.h"

namespace watchd {
namespace {

// The notice Service gives when restart_limit is reached (either `then`):
// ServiceObserver has no callback of its own for it.
constexpr std::string_view kLimitNotice = "restart limit reached";

std::optional<NotifyEvent> UnhealthyEvent(ServiceState state) {
  switch (state) {
    case ServiceState::kHung:
      return NotifyEvent::kHung;
    case ServiceState::kDead:
      return NotifyEvent::kDead;
    case ServiceState::kFailing:
      return NotifyEvent::kFailing;
    case ServiceState::kBlocked:
      return NotifyEvent::kBlocked;
    default:
      return std::nullopt;
  }
}

// The failing check an event names: for `hung` the first failing check
// that restarts (the one that makes it hung), else the first failing one;
// "" when none is.
std::string FailingCheck(const Service& service, ServiceState state) {
  const Check* first = nullptr;
  for (const auto& check : service.checks()) {
    if (check->state() != CheckState::kFailing) continue;
    if (state != ServiceState::kHung ||
        check->on_failure() == OnFailure::kRestart) {
      return check->name();
    }
    if (first == nullptr) first = check.get();
  }
  return first != nullptr ? first->name() : "";
}

bool HasCheck(const Service& service, const std::string& name) {
  for (const auto& check : service.checks()) {
    if (check->name() == name) return true;
  }
  return false;
}

}  // namespace

ServiceReporter::ServiceReporter(Metrics* metrics, const std::string& service,
                                 SystemdNotifier* notifier,
                                 Notifier* notifications)
    : metrics_(metrics),
      handle_(metrics->AddService(service)),
      notifier_(notifier),
      notifications_(notifications) {
  metrics_->SetServiceState(handle_, ServiceStateName(ServiceState::kOk));
}

ServiceReporter::~ServiceReporter() {
  // A service that is gone is reminded of no more.
  notifications_->StopReminder(handle_->service);
  metrics_->RemoveService(handle_);
}

void ServiceReporter::OnServiceStateChange(const Service& service,
                                           ServiceState from, ServiceState to,
                                           const std::string& reason) {
  if (to == last_) return;
  from = last_;
  last_ = to;
  metrics_->SetServiceState(handle_, ServiceStateName(to));
  notifier_->ServicesChanged();
  auto level = to == ServiceState::kOk || to == ServiceState::kStarting ||
                       to == ServiceState::kRestarting
                   ? spdlog::level::info
                   : spdlog::level::warn;
  spdlog::log(level, "service {}: {} -> {}{}{}", service.name(),
              ServiceStateName(from), ServiceStateName(to),
              reason.empty() ? "" : ": ", reason);
  if (std::optional<NotifyEvent> event = UnhealthyEvent(to)) {
    unhealthy_notified_ = true;
    Notify(service, *event, reason, FailingCheck(service, to), to, from);
    return;
  }
  notifications_->StopReminder(service.name());
  if (to == ServiceState::kOk && unhealthy_notified_) {
    unhealthy_notified_ = false;
    Notify(service, NotifyEvent::kRecovered, reason, "", to, from);
  }
}

void ServiceReporter::Resync(const Service& service) {
  OnServiceStateChange(service, last_, service.state(), service.reason());
}

void ServiceReporter::Notify(const Service& service, NotifyEvent event,
                             std::string reason, std::string check,
                             ServiceState state,
                             std::optional<ServiceState> previous) {
  Notification n;
  n.event = event;
  n.service = service.name();
  n.state = ServiceStateName(state);
  if (previous) n.previous_state = ServiceStateName(*previous);
  n.reason = std::move(reason);
  n.check = std::move(check);
  notifications_->Post(std::move(n));
}

void ServiceReporter::OnRestart(const Service& service,
                                const std::string& reason,
                                const std::string& detail) {
  metrics_->IncRestart(handle_, reason);
  const bool recover = reason == kGiveUpRestartReason;
  const char* verb = reason == "dead" ? "start"
                     : recover        ? "clear its give-up and start"
                                      : "restart";
  spdlog::warn("service {}: asking the supervisor to {} {} ({})",
               service.name(), verb, service.config().program, detail);
  Notify(service, NotifyEvent::kRestartStarted,
         (reason == "dead" ? "start: "
          : recover        ? "recover: "
                           : "restart: ") +
             detail,
         HasCheck(service, reason) ? reason : "", service.state());
}

void ServiceReporter::OnRestartDone(const Service& service,
                                    const Status& result) {
  if (result.ok()) {
    const std::string grace = FormatDuration(service.config().start_grace);
    spdlog::info("service {}: the supervisor is done; start_grace {} begins",
                 service.name(), grace);
    Notify(service, NotifyEvent::kRestartSucceeded,
           "the supervisor is done; start_grace " + grace + " begins", "",
           service.state());
    return;
  }
  metrics_->IncRestartFailure(handle_);
  spdlog::error("service {}: restart failed: {}", service.name(),
                result.message());
  Notify(service, NotifyEvent::kRestartFailed, result.message(), "",
         service.state());
}

void ServiceReporter::OnEscalation(const Service& service,
                                   const ProcessIdentity& process,
                                   int descendants, const Status& result) {
  const std::string timeout = FormatDuration(service.config().stop_timeout);
  std::string what;
  if (result.ok()) {
    what = "stop did not end pid " + std::to_string(process.pid) + " within " +
           timeout + ": sent SIGKILL" +
           (descendants == 0
                ? std::string()
                : " (and to " + std::to_string(descendants) + " process" +
                      (descendants == 1 ? "" : "es") + " of its tree)");
  } else {
    what =
        "stop hung past " + timeout + ", SIGKILL not sent: " + result.message();
  }
  spdlog::warn("service {}: {}", service.name(), what);
  Notify(service, NotifyEvent::kEscalated, what, "", service.state());
}

void ServiceReporter::OnResidentMemory(const Service&, uint64_t bytes) {
  metrics_->SetResidentMemory(handle_, static_cast<double>(bytes));
}

void ServiceReporter::OnNotice(const Service& service,
                               const std::string& text) {
  spdlog::warn("service {}: {}", service.name(), text);
  if (text.starts_with(kLimitNotice)) {
    Notify(service, NotifyEvent::kLimitReached, text, "", service.state());
  }
}

}  // namespace watchd
