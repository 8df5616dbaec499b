#include "health/process_tracker.h"

#include <algorithm>

#include "config/config.h"
#include "core/event_loop.h"
#include "os/process_table.h"

namespace watchd {
namespace {

// A pidfile is written by its process (or for it, after it was forked),
// so it is never older than that process. The slack covers the coarse
// clock of file times and start times counted in whole ticks.
constexpr int64_t kSlackTicks = 5;
// Bound on the parent chain walked to tie a pidfile's pid to the
// supervisor's process.
constexpr int kMaxAncestry = 64;

ProcessLookup Found(ProcStat stat) {
  ProcessLookup look;
  look.presence = ProcessLookup::Presence::kFound;
  look.found.identity = {stat.pid, stat.start_time};
  look.found.stat = std::move(stat);
  return look;
}

ProcessLookup Absent(std::string why) {
  return {ProcessLookup::Presence::kAbsent, {}, std::move(why)};
}

ProcessLookup Unknown(std::string why) {
  return {ProcessLookup::Presence::kUnknown, {}, std::move(why)};
}

ProcessLookup Untrusted(std::string why) {
  return {ProcessLookup::Presence::kUntrusted, {}, std::move(why)};
}

bool DescendsFrom(ProcessTable* table, pid_t pid, pid_t ancestor) {
  for (int i = 0; i < kMaxAncestry && pid > 1; ++i) {
    if (pid == ancestor) return true;
    auto st = table->Stat(pid);
    if (!st.ok()) return false;
    pid = st->ppid;
  }
  return pid == ancestor;
}

}  // namespace

ProcessTracker::ProcessTracker(const ServiceConfig& config,
                               Supervisor* supervisor, EventLoop* loop,
                               ProcessTable* table, Listener* listener)
    : config_(config),
      supervisor_(supervisor),
      loop_(loop),
      table_(table),
      listener_(listener),
      task_([this] { RunTask(); }),
      status_done_([this] { OnStatusDone(); }) {
  if (config_.pidfile) pidfile_.emplace(table_);
  // The boot time as watchd starts counts among those seen: a clock
  // stepped forward before the first pidfile is judged must not make it
  // look older than its process.
  boot_wall_ns_ = table_->BootWallClockNs();
}

ProcessTracker::~ProcessTracker() { Stop(); }

bool ProcessTracker::has_source() const {
  return config_.pidfile.has_value() ||
         (supervisor_ != nullptr && supervisor_->reports_pid());
}

ProcessTracker::LookupId ProcessTracker::Lookup(Callback cb) {
  const LookupId id = ++next_id_;
  lookups_.emplace(id, std::move(cb));
  if (!status_call_) loop_->ScheduleAfter(&task_, Duration::zero());
  return id;
}

void ProcessTracker::CancelLookup(LookupId id) { lookups_.erase(id); }

void ProcessTracker::Stop() {
  loop_->Cancel(&task_);
  loop_->Cancel(&status_done_);
  status_call_.reset();
  status_result_.reset();
  lookups_.clear();
}

void ProcessTracker::Forget() {
  identity_.reset();
  presence_ = Presence::kUnknown;
  reason_.clear();
  hold_ = ProgramHold::kNone;
}

void ProcessTracker::RunTask() {
  if (lookups_.empty()) return;
  serving_ = next_id_;
  if (!has_source()) {
    Conclude(Unknown(
        "no pid source: give the service a pidfile or a supervisor that "
        "reports pids"));
  } else if (supervisor_ != nullptr && supervisor_->reports_pid()) {
    ProgramRef ref{config_.name, config_.program,
                   identity_ ? identity_->pid : 0};
    status_call_ = supervisor_->GetStatusReply(ref, [this](StatusReply reply) {
      status_result_ = std::move(reply);
      loop_->ScheduleAfter(&status_done_, Duration::zero());
    });
  } else {
    Conclude(FromPidfile());
  }
}

void ProcessTracker::OnStatusDone() {
  status_call_.reset();
  if (!status_result_) return;
  StatusReply reply = std::move(*status_result_);
  status_result_.reset();
  ProgramHold hold = ProgramHold::kNone;
  const ProcessLookup look = FromSupervisor(reply, &hold);
  Conclude(look, hold);
}

ProcessLookup ProcessTracker::FromSupervisor(const StatusReply& reply,
                                             ProgramHold* hold) {
  const Result<ProgramStatus>& status = reply.status;
  if (!status.ok()) {
    // A program the supervisor does not know is a mistake in the
    // configuration, not a failure to ask: said as it is.
    return Unknown(reply.unknown_program ? status.status().message()
                                         : "supervisor unreachable: " +
                                               status.status().message());
  }
  if (status->pid <= 0) {
    *hold = status->hold;
    switch (status->hold) {
      case ProgramHold::kGaveUp:
        return Absent("supervisor gave up: " + status->hold_reason);
      case ProgramHold::kBackingOff:
        return Absent("supervisor backing off: " + status->hold_reason);
      case ProgramHold::kNone:
        break;
    }
    return Absent("supervisor reports " + config_.program + " " +
                  (status->state.empty() ? "not running" : status->state));
  }
  if (config_.pidfile) {
    ProcessLookup look = FromPidfile();
    if (look.presence != Presence::kFound) {
      // The supervisor runs something, but the pidfile cannot say what.
      return Untrusted(look.reason);
    }
    // Whoever wrote the pidfile, a descendant of the supervisor's process
    // is the service's own (this is also the trust rule's second arm).
    if (DescendsFrom(table_, look.found.identity.pid, status->pid)) {
      return look;
    }
    return Untrusted("pidfile " + *config_.pidfile + " names pid " +
                     std::to_string(look.found.identity.pid) +
                     ", which is not the supervisor's " + config_.program +
                     " (pid " + std::to_string(status->pid) + ")");
  }
  auto st = table_->Stat(status->pid);
  if (!st.ok() || st->state == 'Z' || st->state == 'X') {
    return Absent("pid " + std::to_string(status->pid) +
                  (st.ok() ? " is a zombie" : " is not running"));
  }
  if (table_->IsProtected(status->pid)) {
    return Untrusted("supervisor names pid " + std::to_string(status->pid) +
                     ", which is never a service's process");
  }
  return Found(std::move(st).value());
}

ProcessLookup ProcessTracker::FromPidfile() {
  ProcessLookup look = ReadPidfileOnce();
  // Only a pidfile read just now may declare the process gone: one that
  // changed unseen must not hold on to a dead pid.
  if (look.presence != Presence::kFound && pidfile_->last_cached()) {
    pidfile_->Forget();
    look = ReadPidfileOnce();
  }
  return look;
}

ProcessLookup ProcessTracker::ReadPidfileOnce() {
  const std::string& path = *config_.pidfile;
  auto file = pidfile_->Read(path, loop_->Now());
  if (!file.ok()) return Absent(file.status().message());
  const pid_t pid = file->pid;
  auto who = [&] { return "pid " + std::to_string(pid) + " from " + path; };
  if (table_->IsProtected(pid)) {
    return Untrusted("pidfile " + path + " names pid " + std::to_string(pid) +
                     ", which is never a service's process");
  }
  auto st = table_->Stat(pid);
  if (!st.ok()) return Absent(who() + " is not running");
  if (st->state == 'Z' || st->state == 'X') {
    return Absent(who() + " is a zombie");
  }
  if (StartedAfter(*st, file->stamp)) {
    return Absent(who() +
                  " names a process started after the pidfile was written "
                  "(recycled pid)");
  }
  // The trust rule (docs/supervision.md): a pidfile that someone other
  // than root could have written names only a process of that someone.
  // With a supervisor that reports pids, FromSupervisor ties the pid to
  // the supervisor's process instead.
  const bool supervisor_decides =
      supervisor_ != nullptr && supervisor_->reports_pid();
  if (!file->untrusted.empty() && !supervisor_decides) {
    auto uids = table_->Uids(pid);
    const bool owners = uids.ok() && file->owner != 0 &&
                        uids->real == file->owner &&
                        uids->effective == file->owner;
    if (!owners) {
      return Untrusted(
          "untrusted pidfile " + path + ": " + file->untrusted + ", and pid " +
          std::to_string(pid) +
          (uids.ok() ? " runs as uid " + std::to_string(uids->effective)
                     : std::string(" cannot be examined")) +
          ", not as its owner (uid " + std::to_string(file->owner) + ")");
    }
  }
  return Found(std::move(st).value());
}

bool ProcessTracker::StartedAfter(const ProcStat& st,
                                  const FileStamp& written) {
  boot_wall_ns_ = std::min(boot_wall_ns_, table_->BootWallClockNs());
  const int64_t ticks = std::max<int64_t>(table_->TicksPerSecond(), 1);
  const int64_t tick_ns = 1000000000 / ticks;
  const int64_t started_ns =
      boot_wall_ns_ + static_cast<int64_t>(st.start_time) * tick_ns;
  return started_ns > written.mtime_ns + kSlackTicks * tick_ns;
}

void ProcessTracker::Conclude(const ProcessLookup& look, ProgramHold hold) {
  const Presence before = presence_;
  const std::optional<ProcessIdentity> previous = identity_;
  looked_ = true;
  presence_ = look.presence;
  reason_ = look.reason;
  hold_ = look.presence == Presence::kAbsent ? hold : ProgramHold::kNone;
  switch (look.presence) {
    case Presence::kFound:
      identity_ = look.found.identity;
      break;
    case Presence::kAbsent:
      if (before != Presence::kAbsent) absent_since_ = loop_->Now();
      identity_.reset();
      break;
    case Presence::kUntrusted:
    case Presence::kUnknown:
      break;
  }
  const LookupId serving = serving_;
  listener_->OnLook(look, before, previous);
  // Answer exactly the lookups this look served, each found again after
  // every call: a callback may cancel others or queue new ones (R2).
  while (!lookups_.empty() && lookups_.begin()->first <= serving) {
    auto it = lookups_.begin();
    Callback cb = std::move(it->second);
    lookups_.erase(it);
    if (cb) cb(look);
  }
  if (!lookups_.empty() && !status_call_ && !task_.pending()) {
    loop_->ScheduleAfter(&task_, Duration::zero());
  }
}

}  // namespace watchd
