// Turns one service's events into metrics and log lines.
#ifndef WATCHD_DAEMON_SERVICE_REPORTER_H_
#define WATCHD_DAEMON_SERVICE_REPORTER_H_

#include "health/service.h"
#include "metrics/metrics.h"

namespace watchd {

class ServiceReporter : public ServiceObserver {
 public:
  ServiceReporter(Metrics* metrics, const std::string& service);
  ~ServiceReporter() override;

  void OnServiceStateChange(const Service& service, ServiceState from,
                            ServiceState to,
                            const std::string& reason) override;
  void OnRestart(const Service& service, const std::string& reason,
                 const std::string& detail) override;
  void OnRestartDone(const Service& service, const Status& result) override;
  void OnEscalation(const Service& service, const ProcessIdentity& process,
                    int descendants, const Status& result) override;

  void OnResidentMemory(const Service& service, uint64_t bytes) override;
  void OnNotice(const Service& service, const std::string& text) override;

 private:
  Metrics* metrics_;
  Metrics::ServiceHandle* handle_;
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_SERVICE_REPORTER_H_
