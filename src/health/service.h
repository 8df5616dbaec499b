// One supervised service: owns its checks, its ProcessTracker (which
// process is the service's), its RestartPolicy, and the state machine that
// turns check verdicts and the process record into a state and an action
// (start_grace, restarts, escalation, depends_on). Every action it takes
// is cancellable; its callbacks follow docs/architecture.md's discipline.
#ifndef WATCHD_HEALTH_SERVICE_H_
#define WATCHD_HEALTH_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actions/supervisor.h"
#include "config/config.h"
#include "health/check.h"
#include "os/procfs.h"
#include "probes/process_source.h"
#include "state/saved_state.h"

namespace watchd {

class EventLoop;
class ProcessTable;
class Random;
class Service;

enum class ServiceState {
  kOk,
  kFailing,
  kHung,
  kDead,
  kRestarting,
  kStarting,
  kUnmonitored,
  kBlocked,
  kUnknown,
};
inline constexpr size_t kServiceStateCount =
    static_cast<size_t>(ServiceState::kUnknown) + 1;

// "ok", "failing", "hung", "dead", "restarting", "starting",
// "unmonitored", "blocked", "unknown".
const char* ServiceStateName(ServiceState state);

// OnRestart's reason for a recovery from the supervisor's give-up
// (recover_supervisor_giveup), and its label in watchd_restarts_total.
inline constexpr char kGiveUpRestartReason[] = "supervisor_gave_up";

class ServiceObserver {
 public:
  virtual ~ServiceObserver() = default;
  virtual void OnServiceStateChange(const Service& service, ServiceState from,
                                    ServiceState to,
                                    const std::string& reason) = 0;
  // A restart (or, for a dead service, a start; for one its supervisor gave
  // up, a recovery) was asked of the supervisor. reason: the check that
  // failed, "dead", kGiveUpRestartReason or "operator".
  virtual void OnRestart(const Service& service, const std::string& reason,
                         const std::string& detail) = 0;
  // The restart ended: done (ok) or failed (the error); counted once.
  virtual void OnRestartDone(const Service& service, const Status& result) = 0;
  // The supervisor's stop outlived stop_timeout: SIGKILL sent to `process`
  // and `descendants` more of its tree (or why not).
  virtual void OnEscalation(const Service& service,
                            const ProcessIdentity& process, int descendants,
                            const Status& result) = 0;
  virtual void OnResidentMemory(const Service& service, uint64_t bytes) = 0;
  // A restart limit was reached, or a note worth a log line.
  virtual void OnNotice(const Service& service, const std::string& text) = 0;
};

class Service : public CheckObserver, public ProcessSource {
 public:
  // supervisor may be null: a service that is only probed. The checks are
  // those AddCheck adds (config().checks is not read). `table` is the
  // machine's (SystemProcessTable) but in tests.
  Service(ServiceConfig config, Supervisor* supervisor, EventLoop* loop,
          Random* random, ServiceObserver* observer, ProcessTable* table);
  // The same, sharing a definition the daemon keeps for reloads to compare.
  Service(std::shared_ptr<const ServiceConfig> config, Supervisor* supervisor,
          EventLoop* loop, Random* random, ServiceObserver* observer,
          ProcessTable* table);
  ~Service() override;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The config's checks, in order; `reporter` also hears its check's events.
  void AddCheck(const CheckConfig& config, std::unique_ptr<Probe> probe,
                CheckObserver* reporter);
  // Services this one depends on, replacing any earlier list (a reload
  // sets them again); judged afresh when it runs. A service leaves the
  // lists of the others as it is destroyed.
  void SetDependencies(const std::vector<Service*>& dependencies);

  // A reload's new list of checks, in order: an entry with a probe is a new
  // check, started at once (with jitter) if the service runs; one without
  // keeps the running check of that name as it is (counters, verdict,
  // schedule). Checks no entry names stop and are destroyed here, their
  // runs in flight cancelled; then the service is judged again. Not from
  // inside the service's own callbacks.
  struct CheckPlan {
    std::string name;
    const CheckConfig* config = nullptr;  // new checks only
    std::unique_ptr<Probe> probe;         // null: keep the running one
    CheckObserver* reporter = nullptr;    // new checks only
  };
  void ReplaceChecks(std::vector<CheckPlan> plan);

  void Start();
  // Cancels every timer, probe and supervisor call.
  void Stop();
  // Shutting down: stops the checks and every plan to act, but lets a
  // restart in flight (the supervisor's call, and escalation if its stop
  // hangs) run to its end, so it is not cut between its stop and its
  // start. restart_info().in_flight says when it has ended; Stop() after.
  void Drain();

  // Operator actions: stop/start acting (checks keep running), restart now.
  void Pause();
  void Resume();
  // How an operator's restart ended: ok when it was done.
  using RestartDone = std::function<void(const Status&)>;
  // Ok when the restart was asked, or one already running was joined:
  // `done` then hears how it ends, from the loop (or why it never will,
  // when the service stops first). An error, and no call, when it cannot
  // be asked (no supervisor).
  Status RestartNow(RestartDone done = nullptr);

  const std::string& name() const { return config_->name; }
  // The definition it was built from (a reload that changes only checks
  // keeps the service: checks() is what runs).
  const ServiceConfig& config() const { return *config_; }
  Supervisor* supervisor() const { return supervisor_; }
  ServiceState state() const { return state_; }
  // The state as the checks and the process make it, whether or not
  // watchd acts on the service (unmonitored hides it): what its
  // dependants are judged by.
  ServiceState health() const { return health_; }
  const std::string& reason() const { return reason_; }
  // The recorded process, while the last look found it.
  std::optional<ProcessIdentity> process() const;
  const std::vector<std::unique_ptr<Check>>& checks() const { return checks_; }
  // Restarts done (not merely asked, not failed).
  int restarts() const;
  // When the state last changed (or the service was built).
  TimePoint since() const { return since_; }
  struct RestartInfo {
    int total = 0;   // done since start
    int recent = 0;  // done within restart_limit's window
    TimePoint next_allowed{};
    bool in_flight = false;
  };
  RestartInfo restart_info() const;
  bool paused() const { return paused_; }

  // --- kept across restarts of watchd (daemon.state_file) ----------------
  // What of this service outlives watchd: paused, restart_limit reached,
  // the done restarts within its window and the backoff, the recorded
  // process (tagged with this boot's `boot_id`; not kept when that is ""),
  // and each check's verdict and counters. `clocks` carries the loop's
  // times to the wall clock.
  SavedService SaveState(const ClockReading& clocks,
                         const std::string& boot_id) const;
  // Before Start: takes up what an earlier watchd saved. A recorded
  // process of another boot is dropped; one of this boot becomes the
  // record, so a first look that finds it still running sees no new
  // process (no start_grace, no notice) and one that finds another sees
  // it replaced. Checks are matched by name; their restored verdicts are
  // told to their reporters.
  void RestoreState(const SavedService& saved, const ClockReading& clocks,
                    const std::string& boot_id);
  // `changed` hears, from the loop, of every change worth saving: the
  // state, pause and resume, a restart's end, the recorded process, a
  // check's verdict (counters alone are not). It may only take note (mark
  // the state file dirty), never call into the service.
  void set_on_persistent_change(std::function<void()> changed) {
    on_persistent_change_ = std::move(changed);
  }

  // ProcessSource, for this service's process and memory probes.
  LookupId Lookup(Callback cb) override;
  void CancelLookup(LookupId id) override;

  // CheckObserver, for this service's checks.
  void OnProbeDone(const Check& check, const ProbeResult& result,
                   Duration duration, Duration lateness) override;
  void OnStateChange(const Check& check, CheckState from,
                     CheckState to) override;

 private:
  // The process record, lookups and restarts: only a service with a pid
  // source, a supervisor or a process check has them, out of line (a
  // service that is only probed, the common case by far, carries none).
  struct Supervision;

  Supervision& sup();
  bool HasPidSource() const;
  bool InGrace() const;
  bool Restarting() const;
  void OnLook(const ProcessLookup& look, ProcessLookup::Presence before,
              const std::optional<ProcessIdentity>& previous);
  void PollWhileMissing();

  void Evaluate();
  ServiceState ComputeHealth(std::string* reason) const;
  void Act();
  bool BlockingDependency(std::string* which) const;
  Duration DependencyHold() const;
  void HandleRestartLimit();
  // What a restart asks of the supervisor.
  enum class Action { kRestart, kStart, kRecover };
  void BeginRestart(const std::string& reason, const std::string& detail,
                    Action action);
  // Records the process a restart stops, with its tree, and arms
  // stop_timeout for them (none: nothing can be enforced).
  void ArmEscalation(const std::optional<ProcessIdentity>& process);
  void OnRestartDone();
  void FinishRestart(const Status& status, bool done);
  void Escalate();
  void BeginGrace();
  void ResetChecks();
  void DependencyChanged(const Service& dependency, ServiceState from);
  CheckObserver* ReporterOf(const Check& check) const;
  void PersistentChange() {
    if (on_persistent_change_) on_persistent_change_();
  }

  std::shared_ptr<const ServiceConfig> config_;
  Supervisor* supervisor_;
  EventLoop* loop_;
  Random* random_;
  ServiceObserver* observer_;
  ProcessTable* table_;

  std::vector<std::unique_ptr<Check>> checks_;
  std::vector<CheckObserver*> reporters_;  // reporters_[i] hears checks_[i]
  std::vector<Service*> dependencies_;
  std::vector<Service*> dependants_;
  std::unique_ptr<Supervision> sup_;

  std::vector<RestartDone> restart_waiters_;
  std::function<void()> on_persistent_change_;
  std::string reason_;
  TimePoint since_{};
  TimePoint ok_since_{};
  TimePoint hung_since_{};
  ServiceState state_ = ServiceState::kOk;
  ServiceState health_ = ServiceState::kOk;
  bool started_ = false;
  bool evaluating_ = false;
  bool reevaluate_ = false;
  bool paused_ = false;
  bool limit_reached_ = false;
  bool confirmed_ = false;  // the process was looked at just before acting
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_SERVICE_H_
