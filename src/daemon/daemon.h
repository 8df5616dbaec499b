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
class ControlCommands;
class ControlServer;
class CurlMulti;
class Metrics;
class Notifier;
class ResolverPool;
class Service;
class ServiceReporter;
class StateKeeper;
class Supervisor;
class SystemdNotifier;

class Daemon {
 public:
  Daemon(Config config, std::string config_path);
  ~Daemon();

  // Binds /metrics and builds every check; an error here is fatal.
  Status Init();
  // Runs until SIGTERM, SIGINT or SIGQUIT and the restarts in flight then
  // have ended (a second signal: at once); returns the process exit code.
  int Run();

  EventLoop* loop() { return &loop_; }

 private:
  void OnSignal(int signo);
  // The first stop signal drains the services; the loop stops once no
  // restart is in flight (DrainStep looks every 100 ms) or at the limit.
  void BeginStop(int signo);
  void DrainStep();
  // The STATUS= line: services counted by state.
  std::string StatusSummary() const;
  Status BuildServices();
  // A program its supervisor does not know is a mistake in the
  // configuration: refused at start, where the supervisor can be asked
  // (waits up to the supervisors' timeout).
  Status CheckPrograms();
  // Listens on daemon.control_socket (unless it is "").
  Status StartControl();

  // After Init only its daemon settings are kept (see BuildServices).
  Config config_;
  std::string config_path_;
  EventLoop loop_;
  Random random_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<CurlMulti> curl_;
  std::unique_ptr<ResolverPool> resolvers_;
  SocketPool sockets_;  // before services_: their probes give sockets back
  // Before the reporters that tell it of state changes. A reload calls
  // its Reloading() as it begins and Ready() when done.
  std::unique_ptr<SystemdNotifier> notifier_;
  // Notifications (docs/notifications.md): after curl, which it sends
  // through, and before the reporters that post to it.
  std::unique_ptr<Notifier> notifications_;
  // Destroyed in reverse: services (with their checks and supervisor
  // calls) go before the supervisors and reporters they use.
  std::map<std::string, std::unique_ptr<Supervisor>> supervisors_;
  std::vector<std::unique_ptr<CheckReporter>> check_reporters_;
  std::vector<std::unique_ptr<ServiceReporter>> service_reporters_;
  std::vector<std::unique_ptr<Service>> services_;
  // daemon.state_file (none when ""): restores the services before they
  // start, saves their changes, and once more as watchd stops.
  std::unique_ptr<StateKeeper> state_;
  std::unique_ptr<ControlCommands> control_commands_;
  std::unique_ptr<ControlServer> control_;
  Timer drain_timer_;
  TimePoint drain_deadline_{};
  bool stopping_ = false;
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_DAEMON_H_
