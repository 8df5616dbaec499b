// Turns one check's reports into metrics and transition log lines.
#ifndef WATCHD_DAEMON_CHECK_REPORTER_H_
#define WATCHD_DAEMON_CHECK_REPORTER_H_

#include "health/check.h"
#include "metrics/metrics.h"

namespace watchd {

class CheckReporter : public CheckObserver {
 public:
  CheckReporter(Metrics* metrics, const std::string& service,
                const std::string& check, const std::string& kind);
  ~CheckReporter() override;

  void OnProbeDone(const Check& check, const ProbeResult& result,
                   Duration duration, Duration lateness) override;
  void OnStateChange(const Check& check, CheckState from,
                     CheckState to) override;

 private:
  Metrics* metrics_;
  Metrics::CheckHandle* handle_;
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_CHECK_REPORTER_H_
