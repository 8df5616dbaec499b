// The running watchd: owns the event loop and everything on it (checks,
// curl, resolvers, metrics) and wires check reports to metrics and logs.
#ifndef WATCHD_DAEMON_DAEMON_H_
#define WATCHD_DAEMON_DAEMON_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/event_loop.h"
#include "core/random.h"
#include "core/status.h"
#include "net/socket_pool.h"

namespace watchd {

class CheckReporter;
class CurlMulti;
class Metrics;
class ResolverPool;
class Service;
class ServiceReporter;
class Supervisor;

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
  Status BuildServices();
  // A program its supervisor does not know is a mistake in the
  // configuration: refused at start, where the supervisor can be asked
  // (waits up to the supervisors' timeout).
  Status CheckPrograms();

  // After Init only its daemon settings are kept (see BuildServices).
  Config config_;
  std::string config_path_;
  EventLoop loop_;
  Random random_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<CurlMulti> curl_;
  std::unique_ptr<ResolverPool> resolvers_;
  SocketPool sockets_;  // before services_: their probes give sockets back
  // Destroyed in reverse: services (with their checks and supervisor
  // calls) go before the supervisors and reporters they use.
  std::map<std::string, std::unique_ptr<Supervisor>> supervisors_;
  std::vector<std::unique_ptr<CheckReporter>> check_reporters_;
  std::vector<std::unique_ptr<ServiceReporter>> service_reporters_;
  std::vector<std::unique_ptr<Service>> services_;
  Timer watchdog_timer_;
  Duration watchdog_interval_{0};
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_DAEMON_H_
