#include "health/service.h"

#include <signal.h>

#include <algorithm>

#include "actions/supervisor.h"
#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "health/process_tracker.h"
#include "health/restart_policy.h"
#include "os/process_table.h"

namespace watchd {
namespace {

using Presence = ProcessLookup::Presence;

// How often a missing (or unknown) process is looked for again.
constexpr Duration kPollInterval = std::chrono::seconds(1);

SavedCheckState ToSaved(CheckState state) {
  switch (state) {
    case CheckState::kPending:
      return SavedCheckState::kPending;
    case CheckState::kPassing:
      return SavedCheckState::kPassing;
    case CheckState::kFailing:
      return SavedCheckState::kFailing;
  }
  return SavedCheckState::kPending;
}

CheckState FromSaved(SavedCheckState state) {
  switch (state) {
    case SavedCheckState::kPending:
      return CheckState::kPending;
    case SavedCheckState::kPassing:
      return CheckState::kPassing;
    case SavedCheckState::kFailing:
      return CheckState::kFailing;
  }
  return CheckState::kPending;
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
    case ServiceState::kUnknown:
      return "unknown";
  }
  return "ok";
}

struct Service::Supervision : ProcessTracker::Listener {
  explicit Supervision(Service* s)
      : service(s),
        tracker(*s->config_, s->supervisor_, s->loop_, s->table_, this),
        policy(s->config_->restart_limit, s->config_->restart_backoff),
        poll_timer([s] { s->sup_->tracker.Refresh(); }),
        restart_done_timer([s] { s->OnRestartDone(); }),
        escalation_timer([s] { s->Escalate(); }),
        grace_timer([s] { s->Evaluate(); }),
        retry_timer([s] { s->Evaluate(); }) {}

  void OnLook(const ProcessLookup& look, Presence before,
              const std::optional<ProcessIdentity>& previous) override {
    service->OnLook(look, before, previous);
  }

  Service* service;
  ProcessTracker tracker;
  RestartPolicy policy;
  Timer poll_timer;

  // Restarts. Supervisor callbacks only store their result and wake a
  // timer: a call object is never destroyed from inside its own callback.
  std::unique_ptr<SupervisorCall> restart_call;
  std::optional<Status> restart_result;
  std::string restart_detail;
  // The process being restarted and its tree as the stop began: what
  // escalation may end, each checked by pidfd and start time.
  std::optional<ProcessIdentity> stopping;
  std::vector<ProcessIdentity> stopping_tree;
  Timer restart_done_timer;
  Timer escalation_timer;
  Timer grace_timer;
  Timer retry_timer;
  TimePoint grace_until{};
  // When the current restart call began, in clock ticks since boot (the
  // unit of a process's start time).
  uint64_t restart_began_ticks = 0;
  bool restart_in_flight = false;
  bool limit_alerted = false;
  bool lost = false;  // a look found no process since the last one found
  // A new process was seen while the restart call ran.
  bool replaced_in_restart = false;
  bool confirming = false;  // the look before acting is running
  // The supervisor's give-up, left alone, was noticed (once per give-up).
  bool giveup_noticed = false;
};

Service::Service(ServiceConfig config, Supervisor* supervisor, EventLoop* loop,
                 Random* random, ServiceObserver* observer, ProcessTable* table)
    : Service(std::make_shared<const ServiceConfig>(std::move(config)),
              supervisor, loop, random, observer, table) {}

Service::Service(std::shared_ptr<const ServiceConfig> config,
                 Supervisor* supervisor, EventLoop* loop, Random* random,
                 ServiceObserver* observer, ProcessTable* table)
    : config_(std::move(config)),
      supervisor_(supervisor),
      loop_(loop),
      random_(random),
      observer_(observer),
      table_(table),
      since_(loop->Now()) {
  if (supervisor_ != nullptr || config_->pidfile) sup();
}

Service::~Service() {
  Stop();
  for (Service* d : dependencies_) std::erase(d->dependants_, this);
  for (Service* d : dependants_) std::erase(d->dependencies_, this);
  // Probes cancel their lookups on destruction: the checks go while the
  // rest of this object is still whole.
  checks_.clear();
}

Service::Supervision& Service::sup() {
  if (!sup_) sup_ = std::make_unique<Supervision>(this);
  return *sup_;
}

std::optional<ProcessIdentity> Service::process() const {
  if (!sup_ || sup_->tracker.presence() != Presence::kFound) return {};
  return sup_->tracker.identity();
}

int Service::restarts() const { return sup_ ? sup_->policy.total() : 0; }

Service::RestartInfo Service::restart_info() const {
  if (!sup_) return {};
  return {sup_->policy.total(), sup_->policy.recent(),
          sup_->policy.next_allowed(), sup_->restart_in_flight};
}

void Service::AddCheck(const CheckConfig& config, std::unique_ptr<Probe> probe,
                       CheckObserver* reporter) {
  checks_.push_back(std::make_unique<Check>(
      config_->name, config, std::move(probe), loop_, random_, this));
  reporters_.push_back(reporter);
}

void Service::SetDependencies(const std::vector<Service*>& dependencies) {
  for (Service* d : dependencies_) std::erase(d->dependants_, this);
  dependencies_ = dependencies;
  for (Service* d : dependencies_) d->dependants_.push_back(this);
  if (started_) Evaluate();
}

void Service::ReplaceChecks(std::vector<CheckPlan> plan) {
  std::vector<std::unique_ptr<Check>> checks;
  std::vector<CheckObserver*> reporters;
  std::vector<Check*> added;
  for (CheckPlan& entry : plan) {
    if (entry.probe) {
      checks.push_back(std::make_unique<Check>(config_->name, *entry.config,
                                               std::move(entry.probe), loop_,
                                               random_, this));
      reporters.push_back(entry.reporter);
      added.push_back(checks.back().get());
      continue;
    }
    for (size_t i = 0; i < checks_.size(); ++i) {
      if (checks_[i] && checks_[i]->name() == entry.name) {
        checks.push_back(std::move(checks_[i]));
        reporters.push_back(reporters_[i]);
        break;
      }
    }
  }
  // What is left in checks_ was dropped: destroyed (cancelling its run)
  // while its reporter, which the caller destroys after, still exists.
  checks_.swap(checks);
  reporters_.swap(reporters);
  checks.clear();
  if (!started_) return;
  for (Check* check : added) {
    if (sup_ && sup_->grace_until > loop_->Now()) {
      check->IgnoreFailuresUntil(sup_->grace_until);
    }
    check->Start();
  }
  PersistentChange();
  Evaluate();
}

bool Service::HasPidSource() const {
  return sup_ && sup_->tracker.has_source();
}

bool Service::Restarting() const { return sup_ && sup_->restart_in_flight; }

void Service::Start() {
  started_ = true;
  for (auto& check : checks_) check->Start();
  if (HasPidSource()) sup_->tracker.Refresh();
  Evaluate();
}

void Service::Stop() {
  started_ = false;
  for (auto& check : checks_) check->Stop();
  if (!sup_) return;
  for (Timer* t :
       {&sup_->poll_timer, &sup_->restart_done_timer, &sup_->escalation_timer,
        &sup_->grace_timer, &sup_->retry_timer}) {
    loop_->Cancel(t);
  }
  sup_->tracker.Stop();
  sup_->restart_call.reset();
  sup_->restart_in_flight = false;
  sup_->confirming = false;
  std::vector<RestartDone> waiters = std::move(restart_waiters_);
  restart_waiters_.clear();
  for (auto& w : waiters) {
    w(Status::Error("watchd stopped watching " + config_->name +
                    " before the restart ended"));
  }
}

void Service::Drain() {
  // Act() and the grace of a new process need started_: nothing new is
  // begun, while the restart's own timers and lookups carry on.
  started_ = false;
  for (auto& check : checks_) check->Stop();
  if (!sup_) return;
  for (Timer* t : {&sup_->poll_timer, &sup_->grace_timer, &sup_->retry_timer}) {
    loop_->Cancel(t);
  }
}

// --- the process ------------------------------------------------------------

Service::LookupId Service::Lookup(Callback cb) {
  return sup().tracker.Lookup(std::move(cb));
}

void Service::CancelLookup(LookupId id) {
  if (sup_) sup_->tracker.CancelLookup(id);
}

void Service::OnLook(const ProcessLookup& look, Presence before,
                     const std::optional<ProcessIdentity>& previous) {
  if (sup_->tracker.hold() != ProgramHold::kGaveUp) {
    sup_->giveup_noticed = false;
  }
  // The same process seen again (every run of a process check) changes
  // nothing the state depends on.
  if (look.presence == Presence::kFound && before == Presence::kFound &&
      previous == look.found.identity) {
    return;
  }
  if (look.presence == Presence::kAbsent) sup_->lost = true;
  if (look.presence == Presence::kFound && previous != look.found.identity) {
    // A process seen gone since the last one found (whatever looks came
    // between) is a new one too.
    const bool replaced =
        previous.has_value() || before == Presence::kAbsent || sup_->lost;
    sup_->lost = false;
    // A process that came back on its own (the supervisor respawned it)
    // gets its grace like one watchd restarted. This runs in the tracker's
    // task, never inside a check's run, so resetting the checks cancels
    // nothing that is on the stack (R4).
    if (replaced && started_ && sup_->restart_in_flight) {
      // Not the restart's own work necessarily: FinishRestart decides.
      sup_->replaced_in_restart = true;
    } else if (replaced && started_) {
      observer_->OnNotice(
          *this,
          "new process pid " + std::to_string(look.found.identity.pid) +
              (previous ? " (was " + std::to_string(previous->pid) + ")" : ""));
      BeginGrace();
    }
  }
  if (look.presence == Presence::kUntrusted && before != Presence::kUntrusted) {
    observer_->OnNotice(*this, look.reason +
                                   ": no pid is named to the supervisor or "
                                   "signalled until this is resolved");
  }
  if (sup_->tracker.identity() != previous) PersistentChange();
  if (look.presence != Presence::kFound) PollWhileMissing();
  Evaluate();
}

void Service::PollWhileMissing() {
  if (started_ && HasPidSource() && !sup_->poll_timer.pending() &&
      sup_->tracker.presence() != Presence::kFound) {
    loop_->ScheduleAfter(&sup_->poll_timer, kPollInterval);
  }
}

// --- deciding ---------------------------------------------------------------

bool Service::InGrace() const {
  return sup_ && loop_->Now() < sup_->grace_until;
}

bool Service::BlockingDependency(std::string* which) const {
  for (const Service* d : dependencies_) {
    // Its health, not its state: an unmonitored dependency that fails is
    // failing all the same.
    ServiceState s = d->health();
    if (s != ServiceState::kOk) {
      *which = "dependency " + d->name() + " is " + ServiceStateName(s);
      return true;
    }
    // A run that failed is evidence before the verdict is.
    for (const auto& c : d->checks()) {
      if (c->consecutive_failures() > 0) {
        *which = "dependency " + d->name() + "'s check " + c->name() +
                 " failed its last run";
        return true;
      }
    }
  }
  return false;
}

Duration Service::DependencyHold() const {
  Duration hold = Duration::zero();
  for (const Service* d : dependencies_) {
    for (const auto& c : d->checks()) {
      hold = std::max(hold, c->interval() + c->timeout());
    }
  }
  return hold;
}

ServiceState Service::ComputeHealth(std::string* reason) const {
  if (Restarting()) {
    *reason = sup_->restart_detail;
    return ServiceState::kRestarting;
  }
  const ProcessTracker* tracker = HasPidSource() ? &sup_->tracker : nullptr;
  if (InGrace()) {
    *reason = "in start_grace";
    if (tracker && tracker->presence() == Presence::kAbsent) {
      *reason += "; no process yet: " + tracker->reason();
    }
    return ServiceState::kStarting;
  }
  if (tracker && tracker->looked()) {
    if (tracker->presence() == Presence::kAbsent) {
      *reason = tracker->reason();
      return ServiceState::kDead;
    }
    if (tracker->presence() == Presence::kUnknown) {
      *reason = tracker->reason();
      return ServiceState::kUnknown;
    }
  }
  // A restart check whose last run failed or timed out makes the service
  // hung; one whose last run could not be made (`error`: no answer about
  // the process, an untrusted pidfile) says nothing about the service, and
  // nothing is restarted on it: not knowing is not failing.
  const Check* restart_check = nullptr;
  const Check* unsure_check = nullptr;
  const Check* failing_check = nullptr;
  for (const auto& c : checks_) {
    if (c->state() != CheckState::kFailing) continue;
    if (!failing_check) failing_check = c.get();
    if (c->on_failure() != OnFailure::kRestart || !c->last_result()) continue;
    // A check on its way back (its last run passed, more are needed to
    // pass) is failing, but no reason to restart.
    const ProbeOutcome last = c->last_result()->outcome;
    if (last == ProbeOutcome::kError && !unsure_check) unsure_check = c.get();
    if ((last == ProbeOutcome::kFailure || last == ProbeOutcome::kTimeout) &&
        !restart_check) {
      restart_check = c.get();
    }
  }
  auto last = [](const Check* c) {
    return c->last_result() ? c->last_result()->reason : std::string();
  };
  if (restart_check && tracker && !tracker->looked()) {
    *reason = "check " + restart_check->name() +
              " failing: " + last(restart_check) +
              "; the process is not looked up yet";
    return ServiceState::kUnknown;
  }
  if (restart_check) {
    std::string dep;
    if (BlockingDependency(&dep)) {
      *reason = dep;
      return ServiceState::kBlocked;
    }
    *reason =
        "check " + restart_check->name() + " failing: " + last(restart_check);
    return ServiceState::kHung;
  }
  if (unsure_check) {
    *reason =
        "check " + unsure_check->name() + " cannot tell: " + last(unsure_check);
    return ServiceState::kUnknown;
  }
  if (failing_check) {
    *reason =
        "check " + failing_check->name() + " failing: " + last(failing_check);
    return ServiceState::kFailing;
  }
  reason->clear();
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
    const ServiceState prev_health = health_;
    health_ = ComputeHealth(&why);
    ServiceState next = health_;
    if (paused_) {
      next = ServiceState::kUnmonitored;
      why = "paused by operator";
    } else if (limit_reached_) {
      next = ServiceState::kUnmonitored;
      why = "restart limit reached: " +
            std::to_string(config_->restart_limit.max) + " restarts within " +
            FormatDuration(config_->restart_limit.within);
    }
    ServiceState prev = state_;
    const bool health_changed = health_ != prev_health;
    reason_ = why;
    if (next != ServiceState::kHung && next != ServiceState::kDead) {
      confirmed_ = false;
    }
    if (next != prev) {
      state_ = next;
      TimePoint now = loop_->Now();
      since_ = now;
      if (next == ServiceState::kOk) ok_since_ = now;
      if (next == ServiceState::kHung) hung_since_ = now;
      // A long healthy stretch forgives earlier restarts. Judged once, as
      // it ends: restarts that fail never pass through ok, and must not be
      // forgiven again and again for the stretch before them.
      if (prev == ServiceState::kOk && sup_ &&
          now - ok_since_ >= config_->restart_backoff.max) {
        sup_->policy.Forgive();
      }
      observer_->OnServiceStateChange(*this, prev, next, why);
      PersistentChange();
    }
    // Dependants judge by health, which moves under unmonitored too.
    if (next != prev || health_changed) {
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

void Service::Act() {
  if (!started_ || supervisor_ == nullptr || sup_->restart_in_flight ||
      paused_ || limit_reached_) {
    return;
  }
  const bool hung = state_ == ServiceState::kHung;
  const bool dead = state_ == ServiceState::kDead;
  if (!hung && !dead) return;
  Supervision& sup = *sup_;
  TimePoint now = loop_->Now();
  const ProgramHold hold = sup.tracker.hold();
  if (dead) {
    if (hold == ProgramHold::kGaveUp && !config_->recover_supervisor_giveup) {
      // A start would fail (systemd's start limit) or overrule the
      // supervisor's own policy: that is for the operator to decide.
      if (!sup.giveup_noticed) {
        sup.giveup_noticed = true;
        observer_->OnNotice(
            *this, reason_ + ": watchd does not start " + config_->program +
                       " (recover_supervisor_giveup is off); clear it at the "
                       "supervisor, or run watchctl restart " +
                       config_->name);
      }
      return;
    }
    // The supervisor is respawning it by its own policy: a start would
    // only be answered "already started". Its next look comes from the
    // poll for the missing process.
    if (hold == ProgramHold::kBackingOff) return;
    std::string dep;
    if (BlockingDependency(&dep)) return;
    // The supervisor gets start_grace to respawn it by itself, unless it
    // has given it up.
    TimePoint due = sup.tracker.absent_since() + config_->start_grace;
    if (hold == ProgramHold::kNone && now < due) {
      loop_->ScheduleAt(&sup.retry_timer, due);
      return;
    }
  } else if (!dependencies_.empty()) {
    // A dependant often fails a moment before its dependency's own checks
    // notice (a proxy answers 502 before its backend's check times out):
    // give them one run before blaming this service.
    TimePoint due = hung_since_ + DependencyHold();
    if (now < due) {
      loop_->ScheduleAt(&sup.retry_timer, due);
      return;
    }
  }
  if (sup.policy.LimitReached(now)) {
    HandleRestartLimit();
    return;
  }
  sup.limit_alerted = false;
  if (now < sup.policy.next_allowed()) {
    loop_->ScheduleAt(&sup.retry_timer, sup.policy.next_allowed());
    return;
  }
  // The process may have been replaced since it was last seen: look again
  // and act on what is true now.
  if (!confirmed_ && HasPidSource()) {
    if (!sup.confirming) {
      sup.confirming = true;
      sup.tracker.Lookup([this](const ProcessLookup&) {
        sup_->confirming = false;
        confirmed_ = true;
        Evaluate();
      });
    }
    return;
  }
  confirmed_ = false;
  if (dead && hold == ProgramHold::kGaveUp) {
    BeginRestart(kGiveUpRestartReason, sup.tracker.reason(), Action::kRecover);
    return;
  }
  if (dead) {
    BeginRestart("dead", sup.tracker.reason(), Action::kStart);
    return;
  }
  const Check* trigger = nullptr;
  for (const auto& c : checks_) {
    if (c->state() == CheckState::kFailing &&
        c->on_failure() == OnFailure::kRestart) {
      trigger = c.get();
      break;
    }
  }
  BeginRestart(trigger ? trigger->name() : "check", reason_, Action::kRestart);
}

void Service::HandleRestartLimit() {
  if (config_->restart_limit.then == RestartLimitAction::kUnmonitor) {
    limit_reached_ = true;
    observer_->OnNotice(*this,
                        "restart limit reached (" +
                            std::to_string(config_->restart_limit.max) +
                            " restarts within " +
                            FormatDuration(config_->restart_limit.within) +
                            "): unmonitoring until resumed");
    reevaluate_ = true;
  } else if (!sup_->limit_alerted) {
    sup_->limit_alerted = true;
    observer_->OnNotice(*this,
                        "restart limit reached: alerting only, no restart");
  }
}

// --- acting -----------------------------------------------------------------

void Service::BeginRestart(const std::string& reason, const std::string& detail,
                           Action action) {
  Supervision& sup = this->sup();
  // Only a process the last look found (and trusted) is named or signalled.
  const std::optional<ProcessIdentity> current = process();
  sup.restart_in_flight = true;
  sup.replaced_in_restart = false;
  sup.restart_began_ticks = static_cast<uint64_t>(
      (table_->WallClockNs() - table_->BootWallClockNs()) /
      (1000000000 / std::max<int64_t>(table_->TicksPerSecond(), 1)));
  sup.restart_detail = (action == Action::kStart     ? "starting: "
                        : action == Action::kRecover ? "recovering: "
                                                     : "restarting: ") +
                       detail;
  // A retry while the stop of the same process is still being waited out
  // keeps that stop's deadline and tree (retries must not push it back),
  // and a start leaves a pending escalation to end what the stop left.
  const bool same_stop =
      current && sup.stopping == current && sup.escalation_timer.pending();
  if (action == Action::kRestart && !same_stop) ArmEscalation(current);
  ProgramRef ref{config_->name, config_->program, current ? current->pid : 0};
  observer_->OnRestart(*this, reason, detail);
  auto done = [this](Status status) {
    sup_->restart_result = std::move(status);
    loop_->ScheduleAfter(&sup_->restart_done_timer, Duration::zero());
  };
  switch (action) {
    case Action::kRestart:
      sup.restart_call = supervisor_->Restart(ref, std::move(done));
      break;
    case Action::kStart:
      sup.restart_call = supervisor_->Start(ref, std::move(done));
      break;
    case Action::kRecover:
      sup.restart_call = supervisor_->Recover(ref, std::move(done));
      break;
  }
  reevaluate_ = true;
  if (!evaluating_) Evaluate();
}

void Service::ArmEscalation(const std::optional<ProcessIdentity>& process) {
  Supervision& sup = *sup_;
  sup.stopping = process;
  sup.stopping_tree.clear();
  if (!process) {
    loop_->Cancel(&sup.escalation_timer);
    observer_->OnNotice(
        *this,
        "no recorded process: stop_timeout cannot be enforced if the "
        "supervisor's stop hangs" +
            (sup.tracker.reason().empty() ? std::string()
                                          : " (" + sup.tracker.reason() + ")"));
    return;
  }
  // The tree is the recorded process's own: once it is gone, its pid (and
  // the children under it) may be another process's.
  for (pid_t pid : table_->IsAlive(*process) ? table_->Descendants(process->pid)
                                             : std::vector<pid_t>()) {
    if (auto st = table_->Stat(pid); st.ok()) {
      sup.stopping_tree.push_back({pid, st->start_time});
    }
  }
  // Armed whatever becomes of the call: a call that times out or fails
  // may have stopped the process halfway, and the stop must end.
  loop_->ScheduleAfter(&sup.escalation_timer, config_->stop_timeout);
}

void Service::Escalate() {
  Supervision& sup = *sup_;
  if (!sup.stopping) return;
  const ProcessIdentity main = *sup.stopping;
  std::vector<ProcessIdentity> tree = std::move(sup.stopping_tree);
  sup.stopping.reset();
  sup.stopping_tree.clear();
  // The supervisor's stop has not ended the process (a SIGSTOPped process
  // never acts on SIGTERM), or left some of its tree behind (a stopped
  // worker holding the port): end all of it so the start can succeed.
  const bool main_alive = table_->IsAlive(main);
  int descendants = 0;
  for (const ProcessIdentity& p : tree) {
    if (table_->IsAlive(p) && table_->Signal(p, SIGKILL).ok()) ++descendants;
  }
  if (!main_alive && descendants == 0) return;
  Status result = main_alive ? table_->Signal(main, SIGKILL) : Status::Ok();
  observer_->OnEscalation(*this, main, descendants, result);
}

void Service::OnRestartDone() {
  Supervision& sup = *sup_;
  sup.restart_call.reset();
  Status status =
      sup.restart_result.value_or(Status::Error("restart abandoned"));
  sup.restart_result.reset();
  if (status.ok() || !HasPidSource()) {
    FinishRestart(status, status.ok());
    return;
  }
  // A call that failed (a timeout, most often) may still have done its
  // work: a new process means it did, and it counts as a restart.
  const std::optional<ProcessIdentity> old = sup.stopping;
  const uint64_t began = sup.restart_began_ticks;
  sup.tracker.Lookup([this, status, old, began](const ProcessLookup& look) {
    // Only a process that started since the call began is its work. Start
    // times count clock ticks (10 ms), and supervisord often spawns the
    // new process within the tick the call began in: that tick counts.
    const bool replaced = look.presence == Presence::kFound &&
                          (!old || look.found.identity != *old) &&
                          look.found.identity.start_time >= began;
    if (replaced) {
      observer_->OnNotice(*this, "the supervisor's call failed (" +
                                     status.message() + ") but pid " +
                                     std::to_string(look.found.identity.pid) +
                                     " now runs: counted as a restart");
    }
    FinishRestart(replaced ? Status::Ok() : status, replaced);
  });
}

void Service::FinishRestart(const Status& status, bool done) {
  Supervision& sup = *sup_;
  sup.restart_in_flight = false;
  observer_->OnRestartDone(*this, status);
  sup.policy.Ended(loop_->Now(), done);
  PersistentChange();
  if (done) {
    // The old process is gone: whatever runs now is new and gets its grace.
    sup.tracker.Forget();
    BeginGrace();
    sup.tracker.Refresh();
  } else if (sup.replaced_in_restart && sup.tracker.identity()) {
    // The call failed, but the supervisor replaced the process meanwhile
    // by itself: that process gets its grace like any new one.
    observer_->OnNotice(*this, "new process pid " +
                                   std::to_string(sup.tracker.identity()->pid));
    BeginGrace();
  }
  Evaluate();
  std::vector<RestartDone> waiters = std::move(restart_waiters_);
  restart_waiters_.clear();
  const Status outcome = done ? Status::Ok() : status;
  for (auto& w : waiters) w(outcome);
}

void Service::BeginGrace() {
  Supervision& sup = *sup_;
  sup.grace_until = loop_->Now() + config_->start_grace;
  for (auto& check : checks_) check->IgnoreFailuresUntil(sup.grace_until);
  ResetChecks();
  loop_->ScheduleAt(&sup.grace_timer, sup.grace_until);
  PollWhileMissing();
}

void Service::ResetChecks() {
  for (auto& check : checks_) check->Reset();
}

// --- operator ---------------------------------------------------------------

void Service::Pause() {
  paused_ = true;
  PersistentChange();
  Evaluate();
}

void Service::Resume() {
  paused_ = false;
  limit_reached_ = false;
  if (sup_) {
    sup_->limit_alerted = false;
    sup_->policy.Reset();
  }
  ResetChecks();
  PersistentChange();
  Evaluate();
}

Status Service::RestartNow(RestartDone done) {
  if (supervisor_ == nullptr) {
    return Status::Error("service " + config_->name + " has no supervisor");
  }
  if (!started_) {
    return Status::Error("service " + config_->name + " is not being watched");
  }
  const bool join = Restarting();
  if (done) restart_waiters_.push_back(std::move(done));
  if (!join) {
    // Asked by hand, clearing the supervisor's give-up is the operator's
    // call whatever recover_supervisor_giveup says; a plain restart would
    // fail against systemd's start limit.
    if (sup_->tracker.hold() == ProgramHold::kGaveUp) {
      BeginRestart("operator",
                   "requested by operator; " + sup_->tracker.reason(),
                   Action::kRecover);
    } else {
      BeginRestart("operator", "requested by operator", Action::kRestart);
    }
  }
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
  // A failing check's last outcome (failed or could not run: hung or
  // unknown) and a dependency's last run (blocked) change without a state
  // change, so judge again on each run while a check fails.
  if (check.state() == CheckState::kFailing) Evaluate();
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
  PersistentChange();
  Evaluate();
}

// --- kept across restarts of watchd -----------------------------------------

SavedService Service::SaveState(const ClockReading& clocks,
                                const std::string& boot_id) const {
  SavedService saved;
  saved.paused = paused_;
  saved.limit_reached = limit_reached_;
  if (sup_) {
    const RestartPolicy& policy = sup_->policy;
    for (TimePoint t : policy.RecentRestarts(clocks.mono)) {
      saved.restarts.push_back(clocks.ToWall(t));
    }
    saved.consecutive_restarts = policy.consecutive();
    if (policy.next_allowed() > clocks.mono) {
      saved.next_restart_allowed = clocks.ToWall(policy.next_allowed());
    }
    // The record, not only a process the last look found: a supervisor
    // that cannot be asked right now has not made it any less the one.
    const std::optional<ProcessIdentity>& identity = sup_->tracker.identity();
    if (identity && !boot_id.empty()) {
      saved.process =
          SavedProcess{identity->pid, identity->start_time, boot_id};
    }
  }
  for (const auto& check : checks_) {
    saved.checks[check->name()] = {ToSaved(check->state()),
                                   check->consecutive_failures(),
                                   check->consecutive_successes()};
  }
  return saved;
}

void Service::RestoreState(const SavedService& saved,
                           const ClockReading& clocks,
                           const std::string& boot_id) {
  paused_ = saved.paused;
  // Unmonitored until resumed is what `then: unmonitor` means; a limit
  // reached under `then: alert` holds nothing back.
  limit_reached_ = saved.limit_reached && config_->restart_limit.then ==
                                              RestartLimitAction::kUnmonitor;
  if (sup_) {
    std::vector<TimePoint> restarts;
    for (WallTime t : saved.restarts) restarts.push_back(clocks.PastToMono(t));
    const TimePoint next = saved.next_restart_allowed
                               ? clocks.ToMono(*saved.next_restart_allowed)
                               : TimePoint{};
    sup_->policy.Restore(clocks.mono, std::move(restarts),
                         saved.consecutive_restarts, next);
    // A pid and start time name a process only within one boot.
    if (saved.process && !boot_id.empty() &&
        saved.process->boot_id == boot_id) {
      sup_->tracker.Restore({saved.process->pid, saved.process->start_time});
    }
  }
  for (size_t i = 0; i < checks_.size(); ++i) {
    auto it = saved.checks.find(checks_[i]->name());
    if (it == saved.checks.end()) continue;
    const CheckState state = FromSaved(it->second.state);
    checks_[i]->Restore(state, it->second.consecutive_failures,
                        it->second.consecutive_successes);
    if (state != CheckState::kPending && reporters_[i] != nullptr) {
      reporters_[i]->OnStateChange(*checks_[i], CheckState::kPending, state);
    }
  }
}

}  // namespace watchd
