// Which process is a service's: found from its pidfile or its supervisor,
// cross-checked, trusted only as docs/supervision.md says, and recorded as
// pid + start time. Lookups are answered from a task on the loop, never
// inside Lookup; all those queued before a look share it.
#ifndef WATCHD_HEALTH_PROCESS_TRACKER_H_
#define WATCHD_HEALTH_PROCESS_TRACKER_H_

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "actions/supervisor.h"
#include "core/timer_wheel.h"
#include "health/pidfile_reader.h"
#include "probes/process_source.h"

namespace watchd {

class EventLoop;
class ProcessTable;
struct ServiceConfig;

class ProcessTracker : public ProcessSource {
 public:
  using Presence = ProcessLookup::Presence;

  class Listener {
   public:
    virtual ~Listener() = default;
    // Every look, after the record was updated from it and before the
    // lookups it serves are answered. `before`/`previous`: the record as
    // it was.
    virtual void OnLook(const ProcessLookup& look, Presence before,
                        const std::optional<ProcessIdentity>& previous) = 0;
  };

  // `config` and everything else must outlive the tracker; `supervisor`
  // may be null.
  ProcessTracker(const ServiceConfig& config, Supervisor* supervisor,
                 EventLoop* loop, ProcessTable* table, Listener* listener);
  ~ProcessTracker() override;
  ProcessTracker(const ProcessTracker&) = delete;
  ProcessTracker& operator=(const ProcessTracker&) = delete;

  // A pidfile, or a supervisor that reports pids.
  bool has_source() const;

  // ProcessSource: the callback runs from the loop (R1 of
  // docs/architecture.md).
  LookupId Lookup(Callback cb) override;
  void CancelLookup(LookupId id) override;
  // Looks again soon, for the record only.
  void Refresh() { Lookup(nullptr); }
  // Drops every lookup and call in flight.
  void Stop();
  // The recorded process is gone (a restart ended it): whatever is found
  // next is new.
  void Forget();
  // Before the first look: the process an earlier watchd recorded (the
  // state file). A look that finds it again (same pid and start time)
  // reports no change of process; one that finds another reports it as
  // `previous`, replaced.
  void Restore(const ProcessIdentity& identity) { identity_ = identity; }

  const std::optional<ProcessIdentity>& identity() const { return identity_; }
  // What the last look said; kUnknown with an empty reason before the first.
  Presence presence() const { return presence_; }
  const std::string& reason() const { return reason_; }
  TimePoint absent_since() const { return absent_since_; }
  bool looked() const { return looked_; }
  // With kAbsent from the supervisor: whether its own policy holds the
  // program (backing off, or given up); the reason then says so.
  ProgramHold hold() const { return hold_; }

 private:
  void RunTask();
  void OnStatusDone();
  void Conclude(const ProcessLookup& look,
                ProgramHold hold = ProgramHold::kNone);
  ProcessLookup FromPidfile();
  ProcessLookup ReadPidfileOnce();
  ProcessLookup FromSupervisor(const StatusReply& reply, ProgramHold* hold);
  bool StartedAfter(const ProcStat& st, const FileStamp& written);

  const ServiceConfig& config_;
  Supervisor* supervisor_;
  EventLoop* loop_;
  ProcessTable* table_;
  Listener* listener_;

  std::optional<ProcessIdentity> identity_;
  Presence presence_ = Presence::kUnknown;
  std::string reason_;
  TimePoint absent_since_{};
  ProgramHold hold_ = ProgramHold::kNone;
  bool looked_ = false;
  // The smallest boot time (as the wall clock reads it) seen in this run:
  // a pidfile's mtime is in the wall clock of its writing, and comparing
  // with the earliest reading never calls a pidfile written before a
  // clock step older than its process.
  int64_t boot_wall_ns_ = std::numeric_limits<int64_t>::max();

  std::optional<PidfileReader> pidfile_;
  std::map<LookupId, Callback> lookups_;
  LookupId next_id_ = 0;
  // Lookups up to this id are served by the look in progress.
  LookupId serving_ = 0;
  Timer task_;
  // Supervisor callbacks only store their result and wake a timer: a call
  // object is never destroyed from inside its own callback (R3).
  std::unique_ptr<SupervisorCall> status_call_;
  std::optional<StatusReply> status_result_;
  Timer status_done_;
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_PROCESS_TRACKER_H_
