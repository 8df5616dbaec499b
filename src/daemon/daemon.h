// The running watchd: owns the event loop and everything on it (checks,
// curl, resolvers, metrics) and wires check reports to metrics and logs.
#ifndef WATCHD_DAEMON_DAEMON_H_
#define WATCHD_DAEMON_DAEMON_H_

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/event_loop.h"
#include "core/random.h"
#include "core/status.h"

namespace watchd {

class Check;
class CheckReporter;
class CurlMulti;
class Metrics;
class ResolverPool;

class Daemon {
 public:
  Daemon(Config config, std::string config_path);
  ~Daemon();

  // Binds /metrics and builds every check; an error here is fatal.
  Status Init();
  // Runs until SIGTERM or SIGINT; returns the process exit code.
  int Run();

  EventLoop* loop() { return &loop_; }

 private:
  void OnSignal(int signo);
  void NotifyWatchdog();

  Config config_;
  std::string config_path_;
  EventLoop loop_;
  Random random_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<CurlMulti> curl_;
  std::unique_ptr<ResolverPool> resolvers_;
  // Reporters outlive the checks that report to them.
  std::vector<std::unique_ptr<CheckReporter>> reporters_;
  std::vector<std::unique_ptr<Check>> checks_;
  Timer watchdog_timer_;
  Duration watchdog_interval_{0};
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_DAEMON_H_
