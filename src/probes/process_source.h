// Where `process` and `memory` probes find their service's process: the
// service answers from its pidfile or its supervisor, and keeps the record
// of which exact process (pid + start time) it is.
#ifndef WATCHD_PROBES_PROCESS_SOURCE_H_
#define WATCHD_PROBES_PROCESS_SOURCE_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "core/procfs.h"
#include "core/status.h"

namespace watchd {

class ProcessSource {
 public:
  using Callback = std::function<void(Result<ProcessIdentity>)>;
  using LookupId = uint64_t;

  virtual ~ProcessSource() = default;
  // Finds the service's current process. The callback runs exactly once,
  // possibly before Lookup returns, unless cancelled; the error says why
  // there is no process ("pidfile /run/web.pid is missing").
  virtual LookupId Lookup(Callback cb) = 0;
  virtual void CancelLookup(LookupId id) = 0;
};

// The one lookup a probe has in flight, cancelled on Cancel() or
// destruction; the callback may run before Start() returns.
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
  std::optional<ProcessSource::LookupId> id_;
  bool waiting_ = false;
};

}  // namespace watchd

#endif  // WATCHD_PROBES_PROCESS_SOURCE_H_
