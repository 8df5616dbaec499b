// One supervised service: owns its checks, the record of its process
// (pid + start time), its supervisor binding and its restart policy
// (start_grace, restart_limit, backoff, depends_on). Check transitions flow
// up here and the service decides; every action it takes is cancellable.
#ifndef WATCHD_HEALTH_SERVICE_H_
#define WATCHD_HEALTH_SERVICE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actions/supervisor.h"
#include "config/config.h"
#include "core/procfs.h"
#include "health/check.h"
#include "probes/process_source.h"

namespace watchd {

class EventLoop;
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
};

// "ok", "failing", "hung", "dead", "restarting", "starting",
// "unmonitored", "blocked".
const char* ServiceStateName(ServiceState state);

class ServiceObserver {
 public:
  virtual ~ServiceObserver() = default;
  virtual void OnServiceStateChange(const Service& service, ServiceState from,
                                    ServiceState to,
                                    const std::string& reason) = 0;
  // A restart (or, for a dead service, a start) was asked of the supervisor.
  // reason: the check that failed, "dead" or "operator".
  virtual void OnRestart(const Service& service, const std::string& reason,
                         const std::string& detail) = 0;
  virtual void OnRestartDone(const Service& service, const Status& result) = 0;
  // The supervisor's stop outlived stop_timeout: SIGKILL sent (or why not).
  virtual void OnEscalation(const Service& service,
                            const ProcessIdentity& process,
                            const Status& result) = 0;
  virtual void OnResidentMemory(const Service& service, uint64_t bytes) = 0;
  // A restart limit was reached, or a note worth a log line.
  virtual void OnNotice(const Service& service, const std::string& text) = 0;
};

class Service : public CheckObserver, public ProcessSource {
 public:
  // supervisor may be null: a service that is only probed. config().checks
  // is left empty: AddCheck hands each check its own settings.
  Service(ServiceConfig config, Supervisor* supervisor, EventLoop* loop,
          Random* random, ServiceObserver* observer);
  ~Service() override;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // The config's checks, in order; `reporter` also hears its check's events.
  void AddCheck(const CheckConfig& config, std::unique_ptr<Probe> probe,
                CheckObserver* reporter);
  // Services this one depends on (set before Start).
  void SetDependencies(const std::vector<Service*>& dependencies);

  void Start();
  // Cancels every timer, probe and supervisor call.
  void Stop();

  // Operator actions: stop/start acting (checks keep running), restart now.
  void Pause();
  void Resume();
  // Ok when the restart was asked; an error when it cannot be (no
  // supervisor, a restart already running).
  Status RestartNow();

  const std::string& name() const { return config_.name; }
  const ServiceConfig& config() const { return config_; }
  ServiceState state() const { return state_; }
  const std::string& reason() const { return reason_; }
  const std::optional<ProcessIdentity>& process() const;
  const std::vector<std::unique_ptr<Check>>& checks() const { return checks_; }
  int restarts() const { return total_restarts_; }
  bool paused() const { return paused_; }

  // ProcessSource, for this service's process and memory probes.
  LookupId Lookup(Callback cb) override;
  void CancelLookup(LookupId id) override;

  // CheckObserver, for this service's checks.
  void OnProbeDone(const Check& check, const ProbeResult& result,
                   Duration duration, Duration lateness) override;
  void OnStateChange(const Check& check, CheckState from,
                     CheckState to) override;

 private:
  // What a lookup found: the process, no process (the service is down), or
  // nothing known (no pid source, supervisor unreachable, contradictions).
  enum class Presence : uint8_t { kFound, kAbsent, kUnknown };
  struct Sighting {
    static Sighting Found(ProcStat stat) {
      ProcessIdentity identity{stat.pid, stat.start_time};
      return {Presence::kFound, identity, "", std::move(stat)};
    }
    static Sighting Absent(std::string why) {
      return {Presence::kAbsent, {}, std::move(why), std::nullopt};
    }
    static Sighting Unknown(std::string why) {
      return {Presence::kUnknown, {}, std::move(why), std::nullopt};
    }

    Presence presence = Presence::kUnknown;
    ProcessIdentity identity;
    std::string reason;
    std::optional<ProcStat> stat;  // when found: as this lookup read it
  };
  // The process record, lookups and restarts: only a service with a pid
  // source or a supervisor has them, out of line (a service that is only
  // probed, the common case by far, carries none of it).
  struct Supervision;

  bool HasPidSource() const;
  bool InGrace() const;
  bool Restarting() const;
  void RefreshProcess();
  void OnStatusDone();
  LookupId Lookup(Callback cb, bool may_share);
  Sighting FromPidfile();
  Sighting ReadPidfileOnce();
  Sighting CrossCheck(const Sighting& from_pidfile, pid_t supervisor_pid) const;
  static void Answer(const Callback& cb, const Sighting& sighting);
  void Observe(const Sighting& sighting);

  void Evaluate();
  ServiceState Compute(std::string* reason) const;
  void Act();
  bool BlockingDependency(std::string* which) const;
  bool RestartLimitReached();
  Duration Backoff() const;
  void BeginRestart(const std::string& reason, const std::string& detail,
                    bool start_only);
  void OnRestartDone();
  void Escalate();
  void BeginGrace();
  void ResetChecks();
  void DependencyChanged(const Service& dependency, ServiceState from);
  CheckObserver* ReporterOf(const Check& check) const;

  ServiceConfig config_;
  Supervisor* supervisor_;
  EventLoop* loop_;
  Random* random_;
  ServiceObserver* observer_;

  std::vector<std::unique_ptr<Check>> checks_;
  std::vector<CheckObserver*> reporters_;  // reporters_[i] hears checks_[i]
  std::vector<Service*> dependencies_;
  std::vector<Service*> dependants_;
  std::unique_ptr<Supervision> sup_;

  std::string reason_;
  TimePoint ok_since_{};
  int consecutive_restarts_ = 0;
  int total_restarts_ = 0;
  ServiceState state_ = ServiceState::kOk;
  Presence presence_ = Presence::kUnknown;  // what the last lookup said
  bool started_ = false;
  bool evaluating_ = false;
  bool reevaluate_ = false;
  bool paused_ = false;
  bool limit_reached_ = false;
  bool confirmed_ = false;  // the process was looked at just before acting
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_SERVICE_H_
