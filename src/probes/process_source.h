// Where `process` and `memory` probes find their service's process: the
// service answers from its pidfile or its supervisor, and keeps the record
// of which exact process (pid + start time) it is.
#ifndef WATCHD_PROBES_PROCESS_SOURCE_H_
#define WATCHD_PROBES_PROCESS_SOURCE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/status.h"
#include "os/procfs.h"

namespace watchd {

// A process a lookup found. `stat` is its /proc/PID/stat as the lookup read
// it, in this same pass of the loop, so a probe need not read it again; it
// matches `identity` (pid and start time) and is not a zombie's. Absent
// when the source did not read it: the probe reads and verifies it itself.
struct FoundProcess {
  ProcessIdentity identity;
  std::optional<ProcStat> stat;
};

// What a lookup says: the process; no process (the service is down); a
// process watchd will not treat as the service's (an untrusted pidfile, a
// pidfile that contradicts the supervisor); or that it cannot tell (the
// supervisor is unreachable). Not knowing is not failing.
struct ProcessLookup {
  enum class Presence : uint8_t { kFound, kAbsent, kUntrusted, kUnknown };

  Presence presence = Presence::kUnknown;
  FoundProcess found;  // when kFound
  std::string reason;  // why not, otherwise ("pidfile /run/web.pid is missing")
};

class ProcessSource {
 public:
  using Callback = std::function<void(const ProcessLookup&)>;
  using LookupId = uint64_t;

  virtual ~ProcessSource() = default;
  // Finds the service's current process. The callback runs exactly once,
  // later on the loop (never before Lookup returns), unless cancelled.
  virtual LookupId Lookup(Callback cb) = 0;
  virtual void CancelLookup(LookupId id) = 0;
};

// The one lookup a probe has in flight, cancelled on Cancel() or
// destruction.
class PendingLookup {
 public:
  explicit PendingLookup(ProcessSource* source) : source_(source) {}
  ~PendingLookup() { Cancel(); }
  PendingLookup(const PendingLookup&) = delete;
  PendingLookup& operator=(const PendingLookup&) = delete;

  void Start(ProcessSource::Callback cb);
  void Cancel();

 private:
  ProcessSource* source_;
  // Held here, not in the source's callback, which then captures only
  // `this` and needs no allocation.
  ProcessSource::Callback cb_;
  std::optional<ProcessSource::LookupId> id_;
};

// The process's stat for a probe: the lookup's own, else read now and
// checked against the identity. The error says why it fails the probe
// ("pid 42 is gone", "... is another process now (recycled)").
Result<ProcStat> StatOf(const FoundProcess& found);

}  // namespace watchd

#endif  // WATCHD_PROBES_PROCESS_SOURCE_H_
