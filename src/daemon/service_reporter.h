// Turns one service's events into metrics, log lines and notifications.
#ifndef WATCHD_DAEMON_SERVICE_REPORTER_H_
#define WATCHD_DAEMON_SERVICE_REPORTER_H_

#include <optional>
#include <string>

#include "health/service.h"
#include "metrics/metrics.h"
#include "notify/notifier.h"

namespace watchd {

class SystemdNotifier;

class ServiceReporter : public ServiceObserver {
 public:
  // `notifier` hears of every state change, for its STATUS= line;
  // `notifications` gets the service's events (docs/notifications.md).
  ServiceReporter(Metrics* metrics, const std::string& service,
                  SystemdNotifier* notifier, Notifier* notifications);
  ~ServiceReporter() override;

  void OnServiceStateChange(const Service& service, ServiceState from,
                            ServiceState to,
                            const std::string& reason) override;
  void OnRestart(const Service& service, const std::string& reason,
                 const std::string& detail) override;
  void OnRestartDone(const Service& service, const Status& result) override;
  void OnEscalation(const Service& service, const ProcessIdentity& process,
                    int descendants, const Status& result) override;

  // A reload handed the service to a new object, which starts out ok:
  // reports its state if it is not the one last reported.
  void Resync(const Service& service);

  void OnResidentMemory(const Service& service, uint64_t bytes) override;
  void OnNotice(const Service& service, const std::string& text) override;

 private:
  Metrics* metrics_;
  Metrics::ServiceHandle* handle_;
  SystemdNotifier* notifier_;
  Notifier* notifications_;
  // An unhealthy state was notified since the service was last ok: its
  // next ok is `recovered`.
  bool unhealthy_notified_ = false;
  // The state last reported: a new object of the same service (a reload)
  // moving to it again is no news.
  ServiceState last_ = ServiceState::kOk;

  void Notify(const Service& service, NotifyEvent event, std::string reason,
              std::string check, ServiceState state,
              std::optional<ServiceState> previous = std::nullopt);
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_SERVICE_REPORTER_H_
