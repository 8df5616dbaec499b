// The running watchd: owns the event loop and everything on it (checks,
// curl, resolvers, metrics) and wires check reports to metrics and logs.
#ifndef WATCHD_DAEMON_DAEMON_H_
#define WATCHD_DAEMON_DAEMON_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "core/event_loop.h"
#include "core/random.h"
#include "core/status.h"
#include "net/socket_pool.h"

namespace watchd {

class CheckReporter;
class ControlCommands;
class Probe;
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

  // SIGHUP and `watchctl reload` (docs/configuration.md, "Reload"): reads
  // and validates the whole file on a thread of its own while the loop
  // runs on, then plans and applies it on the loop; any error keeps the
  // running configuration and is what `done` hears, every error of it. On
  // success unchanged checks and services run on untouched, removed ones
  // stop, new ones start, changed ones are rebuilt with their service's
  // history. `done` is called on the loop, never inside this call; a reload
  // asked while one reads the file is done again after it (the file may
  // have changed since that one read it).
  using ReloadDone = std::function<void(const Status&)>;
  void Reload(ReloadDone done);

 private:
  // What reports one Service object: its reporter (shared with the object
  // it replaces or that replaces it, so notifications and series run on)
  // and its checks' reporters by check name, with the definition it runs
  // (settings, notify, checks) for the next reload to compare. The
  // definition is never changed in place, only replaced: a reload's
  // thread compares against it while the loop runs.
  struct Unit {
    std::shared_ptr<ServiceReporter> reporter;
    std::map<std::string, std::unique_ptr<CheckReporter>> check_reporters;
    std::shared_ptr<const ServiceConfig> definition;
  };
  // A service object off the list of running ones: a removed service whose
  // restart in flight finishes first, or a changed one's successor waiting
  // for that (docs/configuration.md, "Reload").
  struct Parked {
    Unit unit;
    std::unique_ptr<Service> service;  // after unit: destroyed first
    TimePoint deadline{};              // retiring: stop waiting then
  };
  struct ReloadPlan;
  struct ReloadDiff;

  void OnSignal(int signo);
  // The first stop signal drains the services; the loop stops once no
  // restart is in flight (DrainStep looks every 100 ms) or at the limit.
  void BeginStop(int signo);
  void DrainStep();
  // The STATUS= line: services counted by state.
  std::string StatusSummary() const;
  Status BuildServices();
  // A Service for `config` (not started) with its checks and their
  // reporters in `unit`; `reporter` is shared when given, else made.
  Result<std::unique_ptr<Service>> MakeService(
      const ServiceConfig& config, Supervisor* supervisor,
      std::shared_ptr<ServiceReporter> reporter, Unit* unit);
  // A new check's probe (for `service`) and reporter.
  Status MakeCheck(Service* service, const CheckConfig& check,
                   std::unique_ptr<Probe>* probe,
                   std::unique_ptr<CheckReporter>* reporter);
  // Reload's steps: everything that can fail, with nothing running
  // touched; then the changes, which cannot.
  Status PlanReload(Config next, const ReloadDiff& diff, ReloadPlan* plan);
  void ApplyReload(ReloadPlan plan);
  // Starts the services `to_start`, and what every applied reload does
  // after its changes.
  void FinishApply(const ReloadPlan& plan,
                   const std::vector<Service*>& to_start);
  // `to` takes up what `from` has lived through: pause, restart history,
  // the recorded process, and the verdicts of checks defined the same.
  void HandOver(const Service& from, const Unit& from_unit, Service* to,
                const Unit& to_unit);
  void Rewire();
  // Services whose turn came since the last reload: retiring ones whose
  // restart ended (or ran out of time), successors that may take over.
  void ReloadStep();
  void ReplaceRunning(size_t index, Parked successor);
  void PruneSupervisors();
  void UpdateCoalescingGrain();
  // How long a restart in flight may take to end: a call ends by its
  // supervisor's timeout, and a failed one is judged by one more look,
  // bounded by the same.
  Duration RestartBound() const;
  // "web, db": the services, running or retiring, whose restart has not
  // ended.
  std::string RestartsInFlight() const;
  Service* FindService(const std::string& name) const;
  std::map<std::string, Service*, std::less<>> ServicesByName() const;
  // The read thread's result, on the loop.
  void FinishReload(LoadResult loaded, std::shared_ptr<ReloadDiff> diff);
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
  // Supervisors a reload replaced, while a parked service still uses them.
  std::vector<std::unique_ptr<Supervisor>> old_supervisors_;
  // By service name, for each of services_.
  std::map<std::string, Unit> units_;
  // Bumped wherever a Service object may be destroyed or replaced (a
  // status being written across passes of the loop looks services up
  // again then).
  uint64_t services_generation_ = 0;
  std::vector<std::unique_ptr<Service>> services_;
  std::vector<Parked> retiring_;
  std::map<std::string, Parked> successors_;  // by service name
  Timer reload_timer_;
  // The thread reading the file for a reload, and who waits for it; those
  // who asked meanwhile wait for the reload after.
  std::thread reload_thread_;
  std::vector<ReloadDone> reload_waiters_;
  std::vector<ReloadDone> next_reload_waiters_;
  bool reload_again_ = false;
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
