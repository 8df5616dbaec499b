#include "health/service.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>

#include "actions/kill.h"
#include "actions/supervisor.h"
#include "core/event_loop.h"

namespace watchd {
namespace {

// How often a missing process is looked for again.
constexpr Duration kPollInterval = std::chrono::seconds(1);
// A pidfile is written by its process, so it is never older than that
// process; one more than this much older names a recycled pid.
constexpr double kPidfileSlackSeconds = 1.0;
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

Service::Service(ServiceConfig config, Supervisor* supervisor, EventLoop* loop,
                 Random* random, ServiceObserver* observer)
    : config_(std::move(config)),
      supervisor_(supervisor),
      loop_(loop),
      random_(random),
      observer_(observer),
      poll_timer_([this] { RefreshProcess(); }),
      status_done_timer_([this] { OnStatusDone(); }),
      restart_done_timer_([this] { OnRestartDone(); }),
      escalation_timer_([this] { Escalate(); }),
      grace_timer_([this] { Evaluate(); }),
      retry_timer_([this] { Evaluate(); }) {}

Service::~Service() {
  Stop();
  // Probes cancel their lookups on destruction: the checks go while the
  // rest of this object is still whole.
  checks_.clear();
}

void Service::AddCheck(const CheckConfig& config, std::unique_ptr<Probe> probe,
                       CheckObserver* reporter) {
  checks_.push_back(std::make_unique<Check>(
      config_.name, config, std::move(probe), loop_, random_, this));
  reporters_[checks_.back().get()] = reporter;
}

void Service::SetDependencies(const std::vector<Service*>& dependencies) {
  dependencies_ = dependencies;
  for (Service* d : dependencies_) d->dependants_.push_back(this);
}

bool Service::HasPidSource() const {
  return config_.pidfile.has_value() ||
         (supervisor_ != nullptr && supervisor_->reports_pid());
}

void Service::Start() {
  started_ = true;
  for (auto& check : checks_) check->Start();
  if (HasPidSource()) RefreshProcess();
  Evaluate();
}

void Service::Stop() {
  started_ = false;
  for (auto& check : checks_) check->Stop();
  for (Timer* t : {&poll_timer_, &status_done_timer_, &restart_done_timer_,
                   &escalation_timer_, &grace_timer_, &retry_timer_}) {
    loop_->Cancel(t);
  }
  status_call_.reset();
  restart_call_.reset();
  restart_in_flight_ = false;
  status_in_flight_ = false;
  lookups_.clear();
}

// --- finding the process ----------------------------------------------------

Service::Sighting Service::FromPidfile() const {
  const std::string& path = *config_.pidfile;
  auto pid = ReadPidfile(path);
  if (!pid.ok()) return {Presence::kAbsent, {}, pid.status().message()};
  const std::string who = "pid " + std::to_string(*pid) + " from " + path;
  auto st = ReadProcStat(*pid);
  if (!st.ok()) return {Presence::kAbsent, {}, who + " is not running"};
  if (st->state == 'Z' || st->state == 'X') {
    return {Presence::kAbsent, {}, who + " is a zombie"};
  }
  struct stat sb;
  double started = ProcessStartEpochSeconds(st->start_time);
  if (stat(path.c_str(), &sb) == 0 && started > 0 &&
      started > static_cast<double>(sb.st_mtime) + kPidfileSlackSeconds) {
    return {Presence::kAbsent,
            {},
            who +
                " names a process started after the pidfile was written "
                "(recycled pid)"};
  }
  return {Presence::kFound, {*pid, st->start_time}, ""};
}

Service::Sighting Service::CrossCheck(const Sighting& from_pidfile,
                                      pid_t supervisor_pid) const {
  if (from_pidfile.presence != Presence::kFound) {
    // The supervisor runs something, but the pidfile cannot say what.
    return {Presence::kUnknown, {}, from_pidfile.reason};
  }
  if (DescendsFrom(from_pidfile.identity.pid, supervisor_pid)) {
    return from_pidfile;
  }
  return {Presence::kUnknown,
          {},
          "pidfile " + *config_.pidfile + " names pid " +
              std::to_string(from_pidfile.identity.pid) +
              ", which is not the supervisor's " + config_.program + " (pid " +
              std::to_string(supervisor_pid) + ")"};
}

Service::LookupId Service::Lookup(Callback cb) {
  LookupId id = ++next_lookup_;
  if (supervisor_ != nullptr && supervisor_->reports_pid()) {
    lookups_[id] = std::move(cb);
    if (!status_in_flight_) {
      status_in_flight_ = true;
      ProgramRef ref{config_.name, config_.program,
                     identity_ ? identity_->pid : 0};
      status_call_ =
          supervisor_->GetStatus(ref, [this](Result<ProgramStatus> status) {
            // Handled from a timer: the call object may not be destroyed
            // from inside its own callback.
            status_result_ = std::move(status);
            loop_->ScheduleAfter(&status_done_timer_, Duration::zero());
          });
    }
    return id;
  }
  Sighting s = config_.pidfile
                   ? FromPidfile()
                   : Sighting{Presence::kUnknown,
                              {},
                              "no pid source: give the service a pidfile or "
                              "a supervisor that reports pids"};
  Observe(s);
  if (cb) {
    cb(s.presence == Presence::kFound
           ? Result<ProcessIdentity>(s.identity)
           : Result<ProcessIdentity>(Status::Error(s.reason)));
  }
  return id;
}

void Service::CancelLookup(LookupId id) { lookups_.erase(id); }

void Service::OnStatusDone() {
  status_in_flight_ = false;
  status_call_.reset();
  if (!status_result_) return;
  Result<ProgramStatus> status = std::move(*status_result_);
  status_result_.reset();
  Sighting s;
  if (!status.ok()) {
    s = {Presence::kUnknown, {}, status.status().message()};
  } else if (status->pid <= 0) {
    s = {Presence::kAbsent,
         {},
         "supervisor reports " + config_.program + " " +
             (status->state.empty() ? "not running" : status->state)};
  } else if (config_.pidfile) {
    s = CrossCheck(FromPidfile(), status->pid);
  } else if (auto st = ReadProcStat(status->pid);
             !st.ok() || st->state == 'Z' || st->state == 'X') {
    s = {Presence::kAbsent,
         {},
         "pid " + std::to_string(status->pid) +
             (st.ok() ? " is a zombie" : " is not running")};
  } else {
    s = {Presence::kFound, {status->pid, st->start_time}, ""};
  }
  // Answer exactly the lookups this call served; later ones need a new call.
  std::vector<LookupId> served;
  for (const auto& [id, cb] : lookups_) served.push_back(id);
  Observe(s);
  for (LookupId id : served) {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) continue;  // cancelled meanwhile
    Callback cb = std::move(it->second);
    lookups_.erase(it);
    if (cb) {
      cb(s.presence == Presence::kFound
             ? Result<ProcessIdentity>(s.identity)
             : Result<ProcessIdentity>(Status::Error(s.reason)));
    }
  }
  if (!lookups_.empty() && !status_in_flight_) Lookup(nullptr);
}

void Service::RefreshProcess() {
  if (started_ && HasPidSource()) Lookup(nullptr);
}

void Service::Observe(const Sighting& s) {
  const Presence before = presence_;
  presence_ = s.presence;
  presence_reason_ = s.reason;
  switch (s.presence) {
    case Presence::kFound:
      if (!identity_ || !(*identity_ == s.identity)) {
        const bool replaced =
            identity_.has_value() || before == Presence::kAbsent;
        const std::optional<ProcessIdentity> old = identity_;
        identity_ = s.identity;
        // A process that came back on its own (the supervisor respawned
        // it) gets its grace like one watchd restarted.
        if (replaced && started_ && !restart_in_flight_) {
          observer_->OnNotice(
              *this,
              "new process pid " + std::to_string(s.identity.pid) +
                  (old ? " (was " + std::to_string(old->pid) + ")" : ""));
          BeginGrace();
        }
      }
      break;
    case Presence::kAbsent:
      if (before != Presence::kAbsent) absent_since_ = loop_->Now();
      identity_.reset();
      break;
    case Presence::kUnknown:
      break;
  }
  if (s.presence != Presence::kFound && started_ && !poll_timer_.pending() &&
      (s.presence == Presence::kAbsent || InGrace())) {
    loop_->ScheduleAfter(&poll_timer_, kPollInterval);
  }
  Evaluate();
}

// --- deciding ---------------------------------------------------------------

bool Service::InGrace() const { return loop_->Now() < grace_until_; }

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
  if (restart_in_flight_) {
    *reason = restart_detail_;
    return ServiceState::kRestarting;
  }
  if (InGrace()) {
    *reason = "in start_grace";
    if (presence_ == Presence::kAbsent) {
      *reason += "; no process yet: " + presence_reason_;
    }
    return ServiceState::kStarting;
  }
  if (presence_ == Presence::kAbsent) {
    *reason = presence_reason_;
    return ServiceState::kDead;
  }
  const Check* restart_check = nullptr;
  const Check* failing_check = nullptr;
  for (const auto& c : checks_) {
    if (c->state() != CheckState::kFailing) continue;
    if (!failing_check) failing_check = c.get();
    if (c->config().on_failure == OnFailure::kRestart && !restart_check) {
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
  while (!restart_history_.empty() &&
         now - restart_history_.front() > config_.restart_limit.within) {
    restart_history_.pop_front();
  }
  return static_cast<int>(restart_history_.size()) >= config_.restart_limit.max;
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
  if (!started_ || supervisor_ == nullptr || restart_in_flight_ || paused_ ||
      limit_reached_) {
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
    TimePoint due = absent_since_ + config_.start_grace;
    if (now < due) {
      loop_->ScheduleAt(&retry_timer_, due);
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
    } else if (!limit_alerted_) {
      limit_alerted_ = true;
      observer_->OnNotice(*this,
                          "restart limit reached: alerting only, no restart");
    }
    return;
  }
  limit_alerted_ = false;
  if (now < next_restart_allowed_) {
    loop_->ScheduleAt(&retry_timer_, next_restart_allowed_);
    return;
  }
  // The process may have been replaced since it was last seen: look again
  // and act on what is true now.
  if (!confirmed_ && HasPidSource()) {
    if (!confirming_) {
      confirming_ = true;
      Lookup([this](const Result<ProcessIdentity>&) {
        confirming_ = false;
        confirmed_ = true;
        Evaluate();
      });
    }
    return;
  }
  confirmed_ = false;
  if (dead) {
    BeginRestart("dead", presence_reason_, /*start_only=*/true);
  } else {
    const Check* trigger = nullptr;
    for (const auto& c : checks_) {
      if (c->state() == CheckState::kFailing &&
          c->config().on_failure == OnFailure::kRestart) {
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
  restart_in_flight_ = true;
  restart_detail_ = (start_only ? "starting: " : "restarting: ") + detail;
  stopping_ = start_only ? std::nullopt : identity_;
  if (!start_only && !stopping_) {
    observer_->OnNotice(
        *this,
        "no recorded process: stop_timeout cannot be enforced if the "
        "supervisor's stop hangs" +
            (presence_reason_.empty() ? std::string()
                                      : " (" + presence_reason_ + ")"));
  }
  ProgramRef ref{config_.name, config_.program, identity_ ? identity_->pid : 0};
  observer_->OnRestart(*this, reason, detail);
  auto done = [this](Status status) {
    restart_result_ = std::move(status);
    loop_->ScheduleAfter(&restart_done_timer_, Duration::zero());
  };
  restart_call_ = start_only ? supervisor_->Start(ref, std::move(done))
                             : supervisor_->Restart(ref, std::move(done));
  if (stopping_) loop_->ScheduleAfter(&escalation_timer_, config_.stop_timeout);
  reevaluate_ = true;
  if (!evaluating_) Evaluate();
}

void Service::Escalate() {
  if (!restart_in_flight_ || !stopping_ || !IsAlive(*stopping_)) return;
  // The supervisor's stop has not ended the process (a SIGSTOPped process
  // never acts on SIGTERM): end it so the supervisor can go on.
  Status result = SignalIfSame(*stopping_, SIGKILL);
  observer_->OnEscalation(*this, *stopping_, result);
}

void Service::OnRestartDone() {
  restart_call_.reset();
  restart_in_flight_ = false;
  loop_->Cancel(&escalation_timer_);
  stopping_.reset();
  Status status = restart_result_.value_or(Status::Error("restart abandoned"));
  restart_result_.reset();
  observer_->OnRestartDone(*this, status);
  TimePoint now = loop_->Now();
  ++consecutive_restarts_;
  next_restart_allowed_ = now + Backoff();
  if (status.ok()) {
    restart_history_.push_back(now);
    ++total_restarts_;
    // The old process is gone: whatever runs now is new and gets its grace.
    identity_.reset();
    presence_ = Presence::kUnknown;
    BeginGrace();
    RefreshProcess();
  }
  Evaluate();
}

void Service::BeginGrace() {
  grace_until_ = loop_->Now() + config_.start_grace;
  for (auto& check : checks_) check->IgnoreFailuresUntil(grace_until_);
  ResetChecks();
  loop_->ScheduleAt(&grace_timer_, grace_until_);
  if (!identity_ && HasPidSource() && !poll_timer_.pending()) {
    loop_->ScheduleAfter(&poll_timer_, kPollInterval);
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
  limit_alerted_ = false;
  restart_history_.clear();
  consecutive_restarts_ = 0;
  next_restart_allowed_ = {};
  ResetChecks();
  Evaluate();
}

Status Service::RestartNow() {
  if (supervisor_ == nullptr) {
    return Status::Error("service " + config_.name + " has no supervisor");
  }
  if (restart_in_flight_) {
    return Status::Error("a restart of " + config_.name + " is running");
  }
  BeginRestart("operator", "requested by operator", /*start_only=*/false);
  return Status::Ok();
}

// --- check events -----------------------------------------------------------

void Service::OnProbeDone(const Check& check, const ProbeResult& result,
                          Duration duration, Duration lateness) {
  if (CheckObserver* r = reporters_[&check]) {
    r->OnProbeDone(check, result, duration, lateness);
  }
  if (result.resident_memory_bytes) {
    observer_->OnResidentMemory(*this, *result.resident_memory_bytes);
  }
}

void Service::OnStateChange(const Check& check, CheckState from,
                            CheckState to) {
  if (CheckObserver* r = reporters_[&check]) r->OnStateChange(check, from, to);
  Evaluate();
}

}  // namespace watchd
