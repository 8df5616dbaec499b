#include "health/service.h"

#include <signal.h>

#include <algorithm>
#include <map>

#include "actions/kill.h"
#include "actions/supervisor.h"
#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "health/pidfile_reader.h"

namespace watchd {
namespace {

// How often a missing process is looked for again.
constexpr Duration kPollInterval = std::chrono::seconds(1);
// A pidfile is written by its process, so it is never older than that
// process; one more than this much older names a recycled pid.
constexpr double kPidfileSlackSeconds = 1.0;
// Lookups this close together (the checks of a service due in the same
// tick of the loop) share one look at the process.
constexpr Duration kShareWindow = std::chrono::milliseconds(1);
// Bound on the parent chain walked to tie a pidfile's pid to the
// supervisor's process.
constexpr int kMaxAncestry = 64;

bool DescendsFrom(pid_t pid, pid_t ancestor) {
  for (int i = 0; i < kMaxAncestry && pid > 1; ++i) {
    if (pid == ancestor) return true;
    auto st = ReadProcStat(pid);
    if (!st.ok()) return false;
    pid = st->ppid;
  }
  return pid == ancestor;
}

}  // namespace

const char* ServiceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kOk:
      return "ok";
    case ServiceState::kFailing:
      return "failing";
    case ServiceState::kHung:
      return "hung";
    case ServiceState::kDead:
      return "dead";
    case ServiceState::kRestarting:
      return "restarting";
    case ServiceState::kStarting:
      return "starting";
    case ServiceState::kUnmonitored:
      return "unmonitored";
    case ServiceState::kBlocked:
      return "blocked";
  }
  return "ok";
}

struct Service::Supervision {
  explicit Supervision(Service* s)
      : poll_timer([s] { s->RefreshProcess(); }),
        status_done_timer([s] { s->OnStatusDone(); }),
        restart_done_timer([s] { s->OnRestartDone(); }),
        escalation_timer([s] { s->Escalate(); }),
        grace_timer([s] { s->Evaluate(); }),
        retry_timer([s] { s->Evaluate(); }) {}

  // The process watchd recorded, and why the last lookup found none.
  std::optional<ProcessIdentity> identity;
  std::string presence_reason;
  TimePoint absent_since{};
  PidfileReader pidfile;
  // The last pidfile lookup that found the process, answered again to the
  // lookups of the same tick (checks due together share one look).
  std::optional<Sighting> shared;
  TimePoint shared_at{};
  std::map<LookupId, Callback> lookups;
  LookupId next_lookup = 0;
  // Supervisor callbacks only store their result and wake a timer: a call
  // object is never destroyed from inside its own callback.
  std::unique_ptr<SupervisorCall> status_call;
  std::optional<Result<ProgramStatus>> status_result;
  Timer poll_timer;  // looks again for a missing process
  Timer status_done_timer;

  // Restarts.
  std::unique_ptr<SupervisorCall> restart_call;
  std::optional<Status> restart_result;
  std::string restart_detail;
  std::optional<ProcessIdentity> stopping;  // the process being restarted
  Timer restart_done_timer;
  Timer escalation_timer;
  Timer grace_timer;
  Timer retry_timer;
  TimePoint grace_until{};
  TimePoint next_restart_allowed{};
  // Successful restarts within restart_limit.within, oldest first: at most
  // restart_limit.max, and no allocation while there are none.
  std::vector<TimePoint> restart_history;
  bool status_in_flight = false;
  bool restart_in_flight = false;
  bool limit_alerted = false;
  bool confirming = false;  // the look before acting is running
};

Service::Service(ServiceConfig config, Supervisor* supervisor, EventLoop* loop,
                 Random* random, ServiceObserver* observer)
    : config_(std::move(config)),
      supervisor_(supervisor),
      loop_(loop),
      random_(random),
      observer_(observer) {
  // Each Check keeps what it needs of its own config.
  config_.checks = std::vector<CheckConfig>();
  if (supervisor_ != nullptr || config_.pidfile) {
    sup_ = std::make_unique<Supervision>(this);
  }
}

Service::~Service() {
  Stop();
  // Probes cancel their lookups on destruction: the checks go while the
  // rest of this object is still whole.
  checks_.clear();
}

const std::optional<ProcessIdentity>& Service::process() const {
  static const std::optional<ProcessIdentity> kNone;
  return sup_ ? sup_->identity : kNone;
}

void Service::AddCheck(const CheckConfig& config, std::unique_ptr<Probe> probe,
                       CheckObserver* reporter) {
  checks_.push_back(std::make_unique<Check>(
      config_.name, config, std::move(probe), loop_, random_, this));
  reporters_.push_back(reporter);
}

void Service::SetDependencies(const std::vector<Service*>& dependencies) {
  dependencies_ = dependencies;
  for (Service* d : dependencies_) d->dependants_.push_back(this);
}

bool Service::HasPidSource() const {
  return config_.pidfile.has_value() ||
         (supervisor_ != nullptr && supervisor_->reports_pid());
}

bool Service::Restarting() const { return sup_ && sup_->restart_in_flight; }

void Service::Start() {
  started_ = true;
  for (auto& check : checks_) check->Start();
  if (HasPidSource()) RefreshProcess();
  Evaluate();
}

void Service::Stop() {
  started_ = false;
  for (auto& check : checks_) check->Stop();
  if (!sup_) return;
  for (Timer* t :
       {&sup_->poll_timer, &sup_->status_done_timer, &sup_->restart_done_timer,
        &sup_->escalation_timer, &sup_->grace_timer, &sup_->retry_timer}) {
    loop_->Cancel(t);
  }
  sup_->status_call.reset();
  sup_->restart_call.reset();
  sup_->restart_in_flight = false;
  sup_->status_in_flight = false;
  sup_->lookups.clear();
}

// --- finding the process ----------------------------------------------------

Service::Sighting Service::FromPidfile() {
  Sighting s = ReadPidfileOnce();
  // Only a pidfile read just now may declare the process gone: one that
  // changed unseen must not hold on to a dead pid.
  if (s.presence != Presence::kFound && sup_->pidfile.last_cached()) {
    sup_->pidfile.Forget();
    s = ReadPidfileOnce();
  }
  return s;
}

Service::Sighting Service::ReadPidfileOnce() {
  const std::string& path = *config_.pidfile;
  auto file = sup_->pidfile.Read(path, loop_->Now());
  if (!file.ok()) return Sighting::Absent(file.status().message());
  const pid_t pid = file->pid;
  auto who = [&] { return "pid " + std::to_string(pid) + " from " + path; };
  auto st = ReadProcStat(pid);
  if (!st.ok()) return Sighting::Absent(who() + " is not running");
  if (st->state == 'Z' || st->state == 'X') {
    return Sighting::Absent(who() + " is a zombie");
  }
  double started = ProcessStartEpochSeconds(st->start_time);
  double written = static_cast<double>(file->stamp.mtime_ns) / 1e9;
  if (started > 0 && started > written + kPidfileSlackSeconds) {
    return Sighting::Absent(
        who() +
        " names a process started after the pidfile was written "
        "(recycled pid)");
  }
  return Sighting::Found(std::move(st).value());
}

Service::Sighting Service::CrossCheck(const Sighting& from_pidfile,
                                      pid_t supervisor_pid) const {
  if (from_pidfile.presence != Presence::kFound) {
    // The supervisor runs something, but the pidfile cannot say what.
    return Sighting::Unknown(from_pidfile.reason);
  }
  if (DescendsFrom(from_pidfile.identity.pid, supervisor_pid)) {
    return from_pidfile;
  }
  return Sighting::Unknown("pidfile " + *config_.pidfile + " names pid " +
                           std::to_string(from_pidfile.identity.pid) +
                           ", which is not the supervisor's " +
                           config_.program + " (pid " +
                           std::to_string(supervisor_pid) + ")");
}

Service::LookupId Service::Lookup(Callback cb) {
  return Lookup(std::move(cb), /*may_share=*/true);
}

Service::LookupId Service::Lookup(Callback cb, bool may_share) {
  if (!HasPidSource()) {
    Answer(cb, Sighting::Unknown("no pid source: give the service a pidfile "
                                 "or a supervisor that reports pids"));
    return 0;
  }
  Supervision& sup = *sup_;
  LookupId id = ++sup.next_lookup;
  if (supervisor_ != nullptr && supervisor_->reports_pid()) {
    sup.lookups[id] = std::move(cb);
    if (!sup.status_in_flight) {
      sup.status_in_flight = true;
      ProgramRef ref{config_.name, config_.program,
                     sup.identity ? sup.identity->pid : 0};
      sup.status_call =
          supervisor_->GetStatus(ref, [this](Result<ProgramStatus> status) {
            // Handled from a timer: the call object may not be destroyed
            // from inside its own callback.
            sup_->status_result = std::move(status);
            loop_->ScheduleAfter(&sup_->status_done_timer, Duration::zero());
          });
    }
    return id;
  }
  const TimePoint now = loop_->Now();
  // Shared only while it is still what the service believes: a restart or
  // any other look since then ends it.
  if (may_share && sup.shared && now - sup.shared_at < kShareWindow &&
      presence_ == Presence::kFound && sup.identity == sup.shared->identity) {
    Answer(cb, *sup.shared);
    return id;
  }
  Sighting s = FromPidfile();
  if (s.presence == Presence::kFound) {
    sup.shared = s;
    sup.shared_at = now;
  } else {
    sup.shared.reset();
  }
  Observe(s);
  Answer(cb, s);
  return id;
}

void Service::Answer(const Callback& cb, const Sighting& s) {
  if (!cb) return;
  if (s.presence == Presence::kFound) {
    cb(FoundProcess{s.identity, s.stat});
  } else {
    cb(Status::Error(s.reason));
  }
}

void Service::CancelLookup(LookupId id) {
  if (sup_) sup_->lookups.erase(id);
}

void Service::OnStatusDone() {
  Supervision& sup = *sup_;
  sup.status_in_flight = false;
  sup.status_call.reset();
  if (!sup.status_result) return;
  Result<ProgramStatus> status = std::move(*sup.status_result);
  sup.status_result.reset();
  Sighting s;
  if (!status.ok()) {
    s = Sighting::Unknown(status.status().message());
  } else if (status->pid <= 0) {
    s = Sighting::Absent(
        "supervisor reports " + config_.program + " " +
        (status->state.empty() ? "not running" : status->state));
  } else if (config_.pidfile) {
    s = CrossCheck(FromPidfile(), status->pid);
  } else if (auto st = ReadProcStat(status->pid);
             !st.ok() || st->state == 'Z' || st->state == 'X') {
    s = Sighting::Absent("pid " + std::to_string(status->pid) +
                         (st.ok() ? " is a zombie" : " is not running"));
  } else {
    s = Sighting::Found(std::move(st).value());
  }
  // Answer exactly the lookups this call served; later ones need a new call.
  std::vector<LookupId> served;
  for (const auto& [id, cb] : sup.lookups) served.push_back(id);
  Observe(s);
  for (LookupId id : served) {
    auto it = sup.lookups.find(id);
    if (it == sup.lookups.end()) continue;  // cancelled meanwhile
    Callback cb = std::move(it->second);
    sup.lookups.erase(it);
    Answer(cb, s);
  }
  if (!sup.lookups.empty() && !sup.status_in_flight) Lookup(nullptr);
}

void Service::RefreshProcess() {
  if (started_ && HasPidSource()) Lookup(nullptr);
}

void Service::Observe(const Sighting& s) {
  Supervision& sup = *sup_;
  const Presence before = presence_;
  // The same process seen again (every run of a process check) changes
  // nothing the state depends on.
  if (s.presence == Presence::kFound && before == Presence::kFound &&
      sup.identity == s.identity) {
    return;
  }
  presence_ = s.presence;
  sup.presence_reason = s.reason;
  switch (s.presence) {
    case Presence::kFound:
      if (!sup.identity || !(*sup.identity == s.identity)) {
        const bool replaced =
            sup.identity.has_value() || before == Presence::kAbsent;
        const std::optional<ProcessIdentity> old = sup.identity;
        sup.identity = s.identity;
        // A process that came back on its own (the supervisor respawned
        // it) gets its grace like one watchd restarted.
        if (replaced && started_ && !sup.restart_in_flight) {
          observer_->OnNotice(
              *this,
              "new process pid " + std::to_string(s.identity.pid) +
                  (old ? " (was " + std::to_string(old->pid) + ")" : ""));
          BeginGrace();
        }
      }
      break;
    case Presence::kAbsent:
      if (before != Presence::kAbsent) sup.absent_since = loop_->Now();
      sup.identity.reset();
      break;
    case Presence::kUnknown:
      break;
  }
  if (s.presence != Presence::kFound && started_ && !sup.poll_timer.pending() &&
      (s.presence == Presence::kAbsent || InGrace())) {
    loop_->ScheduleAfter(&sup.poll_timer, kPollInterval);
  }
  Evaluate();
}

// --- deciding ---------------------------------------------------------------

bool Service::InGrace() const {
  return sup_ && loop_->Now() < sup_->grace_until;
}

bool Service::BlockingDependency(std::string* which) const {
  for (const Service* d : dependencies_) {
    ServiceState s = d->state();
    if (s != ServiceState::kOk && s != ServiceState::kUnmonitored) {
      *which = "dependency " + d->name() + " is " + ServiceStateName(s);
      return true;
    }
  }
  return false;
}

ServiceState Service::Compute(std::string* reason) const {
  if (paused_) {
    *reason = "paused by operator";
    return ServiceState::kUnmonitored;
  }
  if (limit_reached_) {
    *reason =
        "restart limit reached: " + std::to_string(config_.restart_limit.max) +
        " restarts within " + FormatDuration(config_.restart_limit.within);
    return ServiceState::kUnmonitored;
  }
  if (Restarting()) {
    *reason = sup_->restart_detail;
    return ServiceState::kRestarting;
  }
  if (InGrace()) {
    *reason = "in start_grace";
    if (presence_ == Presence::kAbsent) {
      *reason += "; no process yet: " + sup_->presence_reason;
    }
    return ServiceState::kStarting;
  }
  if (presence_ == Presence::kAbsent) {
    *reason = sup_->presence_reason;
    return ServiceState::kDead;
  }
  const Check* restart_check = nullptr;
  const Check* failing_check = nullptr;
  for (const auto& c : checks_) {
    if (c->state() != CheckState::kFailing) continue;
    if (!failing_check) failing_check = c.get();
    if (c->on_failure() == OnFailure::kRestart && !restart_check) {
      restart_check = c.get();
    }
  }
  auto describe = [](const Check* c) {
    return "check " + c->name() +
           " failing: " + (c->last_result() ? c->last_result()->reason : "");
  };
  if (restart_check) {
    std::string dep;
    if (BlockingDependency(&dep)) {
      *reason = dep;
      return ServiceState::kBlocked;
    }
    *reason = describe(restart_check);
    return ServiceState::kHung;
  }
  if (failing_check) {
    *reason = describe(failing_check);
    return ServiceState::kFailing;
  }
  *reason = "";
  return ServiceState::kOk;
}

void Service::Evaluate() {
  if (evaluating_) {
    reevaluate_ = true;
    return;
  }
  evaluating_ = true;
  do {
    reevaluate_ = false;
    std::string why;
    ServiceState next = Compute(&why);
    ServiceState prev = state_;
    reason_ = why;
    if (next != ServiceState::kHung && next != ServiceState::kDead) {
      confirmed_ = false;
    }
    if (next != prev) {
      state_ = next;
      TimePoint now = loop_->Now();
      if (next == ServiceState::kOk) ok_since_ = now;
      // A long healthy stretch forgives earlier restarts. Judged once, as
      // it ends: restarts that fail never pass through ok, and must not be
      // forgiven again and again for the stretch before them.
      if (prev == ServiceState::kOk &&
          now - ok_since_ >= config_.restart_backoff.max) {
        consecutive_restarts_ = 0;
      }
      observer_->OnServiceStateChange(*this, prev, next, why);
      for (Service* d : dependants_) d->DependencyChanged(*this, prev);
    }
    Act();
  } while (reevaluate_);
  evaluating_ = false;
}

void Service::DependencyChanged(const Service& dependency, ServiceState from) {
  const bool recovered = dependency.state() == ServiceState::kOk &&
                         from != ServiceState::kOk &&
                         from != ServiceState::kUnmonitored;
  if (recovered &&
      (state_ == ServiceState::kBlocked || state_ == ServiceState::kFailing)) {
    // Judge this service on what it does now that its dependency works,
    // not on failures the dependency caused.
    observer_->OnNotice(*this, "dependency " + dependency.name() +
                                   " recovered: checks start afresh");
    ResetChecks();
  }
  Evaluate();
}

bool Service::RestartLimitReached() {
  TimePoint now = loop_->Now();
  std::vector<TimePoint>& history = sup_->restart_history;
  auto recent = std::find_if(history.begin(), history.end(), [&](TimePoint t) {
    return now - t <= config_.restart_limit.within;
  });
  history.erase(history.begin(), recent);
  return static_cast<int>(history.size()) >= config_.restart_limit.max;
}

Duration Service::Backoff() const {
  if (consecutive_restarts_ == 0) return Duration::zero();
  Duration d = config_.restart_backoff.initial;
  for (int i = 1; i < consecutive_restarts_ && d < config_.restart_backoff.max;
       ++i) {
    d *= 2;
  }
  return std::min(d, config_.restart_backoff.max);
}

void Service::Act() {
  if (!started_ || supervisor_ == nullptr || sup_->restart_in_flight ||
      paused_ || limit_reached_) {
    return;
  }
  const bool hung = state_ == ServiceState::kHung;
  const bool dead = state_ == ServiceState::kDead;
  if (!hung && !dead) return;
  TimePoint now = loop_->Now();
  if (dead) {
    std::string dep;
    if (BlockingDependency(&dep)) return;
    // The supervisor gets start_grace to respawn it by itself.
    TimePoint due = sup_->absent_since + config_.start_grace;
    if (now < due) {
      loop_->ScheduleAt(&sup_->retry_timer, due);
      return;
    }
  }
  if (RestartLimitReached()) {
    if (config_.restart_limit.then == RestartLimitAction::kUnmonitor) {
      limit_reached_ = true;
      observer_->OnNotice(*this,
                          "restart limit reached (" +
                              std::to_string(config_.restart_limit.max) +
                              " restarts within " +
                              FormatDuration(config_.restart_limit.within) +
                              "): unmonitoring until resumed");
      reevaluate_ = true;
    } else if (!sup_->limit_alerted) {
      sup_->limit_alerted = true;
      observer_->OnNotice(*this,
                          "restart limit reached: alerting only, no restart");
    }
    return;
  }
  sup_->limit_alerted = false;
  if (now < sup_->next_restart_allowed) {
    loop_->ScheduleAt(&sup_->retry_timer, sup_->next_restart_allowed);
    return;
  }
  // The process may have been replaced since it was last seen: look again
  // and act on what is true now.
  if (!confirmed_ && HasPidSource()) {
    if (!sup_->confirming) {
      sup_->confirming = true;
      Lookup(
          [this](const Result<FoundProcess>&) {
            sup_->confirming = false;
            confirmed_ = true;
            Evaluate();
          },
          /*may_share=*/false);
    }
    return;
  }
  confirmed_ = false;
  if (dead) {
    BeginRestart("dead", sup_->presence_reason, /*start_only=*/true);
  } else {
    const Check* trigger = nullptr;
    for (const auto& c : checks_) {
      if (c->state() == CheckState::kFailing &&
          c->on_failure() == OnFailure::kRestart) {
        trigger = c.get();
        break;
      }
    }
    BeginRestart(trigger ? trigger->name() : "check", reason_,
                 /*start_only=*/false);
  }
}

// --- acting -----------------------------------------------------------------

void Service::BeginRestart(const std::string& reason, const std::string& detail,
                           bool start_only) {
  Supervision& sup = *sup_;
  sup.restart_in_flight = true;
  sup.restart_detail = (start_only ? "starting: " : "restarting: ") + detail;
  sup.stopping = start_only ? std::nullopt : sup.identity;
  if (!start_only && !sup.stopping) {
    observer_->OnNotice(
        *this,
        "no recorded process: stop_timeout cannot be enforced if the "
        "supervisor's stop hangs" +
            (sup.presence_reason.empty() ? std::string()
                                         : " (" + sup.presence_reason + ")"));
  }
  ProgramRef ref{config_.name, config_.program,
                 sup.identity ? sup.identity->pid : 0};
  observer_->OnRestart(*this, reason, detail);
  auto done = [this](Status status) {
    sup_->restart_result = std::move(status);
    loop_->ScheduleAfter(&sup_->restart_done_timer, Duration::zero());
  };
  sup.restart_call = start_only ? supervisor_->Start(ref, std::move(done))
                                : supervisor_->Restart(ref, std::move(done));
  if (sup.stopping) {
    loop_->ScheduleAfter(&sup.escalation_timer, config_.stop_timeout);
  }
  reevaluate_ = true;
  if (!evaluating_) Evaluate();
}

void Service::Escalate() {
  Supervision& sup = *sup_;
  if (!sup.restart_in_flight || !sup.stopping || !IsAlive(*sup.stopping)) {
    return;
  }
  // The supervisor's stop has not ended the process (a SIGSTOPped process
  // never acts on SIGTERM): end it so the supervisor can go on.
  Status result = SignalIfSame(*sup.stopping, SIGKILL);
  observer_->OnEscalation(*this, *sup.stopping, result);
}

void Service::OnRestartDone() {
  Supervision& sup = *sup_;
  sup.restart_call.reset();
  sup.restart_in_flight = false;
  loop_->Cancel(&sup.escalation_timer);
  sup.stopping.reset();
  Status status =
      sup.restart_result.value_or(Status::Error("restart abandoned"));
  sup.restart_result.reset();
  observer_->OnRestartDone(*this, status);
  TimePoint now = loop_->Now();
  ++consecutive_restarts_;
  sup.next_restart_allowed = now + Backoff();
  if (status.ok()) {
    sup.restart_history.push_back(now);
    ++total_restarts_;
    // The old process is gone: whatever runs now is new and gets its grace.
    sup.identity.reset();
    presence_ = Presence::kUnknown;
    BeginGrace();
    RefreshProcess();
  }
  Evaluate();
}

void Service::BeginGrace() {
  Supervision& sup = *sup_;
  sup.grace_until = loop_->Now() + config_.start_grace;
  for (auto& check : checks_) check->IgnoreFailuresUntil(sup.grace_until);
  ResetChecks();
  loop_->ScheduleAt(&sup.grace_timer, sup.grace_until);
  if (!sup.identity && HasPidSource() && !sup.poll_timer.pending()) {
    loop_->ScheduleAfter(&sup.poll_timer, kPollInterval);
  }
}

void Service::ResetChecks() {
  for (auto& check : checks_) check->Reset();
}

// --- operator ---------------------------------------------------------------

void Service::Pause() {
  paused_ = true;
  Evaluate();
}

void Service::Resume() {
  paused_ = false;
  limit_reached_ = false;
  consecutive_restarts_ = 0;
  if (sup_) {
    sup_->limit_alerted = false;
    sup_->restart_history.clear();
    sup_->next_restart_allowed = {};
  }
  ResetChecks();
  Evaluate();
}

Status Service::RestartNow() {
  if (supervisor_ == nullptr) {
    return Status::Error("service " + config_.name + " has no supervisor");
  }
  if (Restarting()) {
    return Status::Error("a restart of " + config_.name + " is running");
  }
  BeginRestart("operator", "requested by operator", /*start_only=*/false);
  return Status::Ok();
}

// --- check events -----------------------------------------------------------

void Service::OnProbeDone(const Check& check, const ProbeResult& result,
                          Duration duration, Duration lateness) {
  if (CheckObserver* r = ReporterOf(check)) {
    r->OnProbeDone(check, result, duration, lateness);
  }
  if (result.resident_memory_bytes) {
    observer_->OnResidentMemory(*this, *result.resident_memory_bytes);
  }
}

CheckObserver* Service::ReporterOf(const Check& check) const {
  for (size_t i = 0; i < checks_.size(); ++i) {
    if (checks_[i].get() == &check) return reporters_[i];
  }
  return nullptr;
}

void Service::OnStateChange(const Check& check, CheckState from,
                            CheckState to) {
  if (CheckObserver* r = ReporterOf(check)) r->OnStateChange(check, from, to);
  Evaluate();
}

}  // namespace watchd
