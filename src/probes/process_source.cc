#include "probes/process_source.h"

#include <string>
#include <utility>

namespace watchd {

void PendingLookup::Start(ProcessSource::Callback cb) {
  cb_ = std::move(cb);
  id_ = source_->Lookup([this](const ProcessLookup& found) {
    id_.reset();
    // The last act: the callback may start the next lookup or destroy us.
    ProcessSource::Callback cb = std::move(cb_);
    cb_ = nullptr;
    cb(found);
  });
}

void PendingLookup::Cancel() {
  if (id_) source_->CancelLookup(*id_);
  id_.reset();
  cb_ = nullptr;
}

Result<ProcStat> StatOf(const FoundProcess& found) {
  const pid_t pid = found.identity.pid;
  Result<ProcStat> st =
      found.stat ? Result<ProcStat>(*found.stat) : ReadProcStat(pid);
  if (!st.ok()) return Status::Error("pid " + std::to_string(pid) + " is gone");
  if (st->start_time != found.identity.start_time) {
    return Status::Error("pid " + std::to_string(pid) +
                         " is another process now (recycled)");
  }
  if (st->state == 'Z' || st->state == 'X') {
    return Status::Error("pid " + std::to_string(pid) + " is a zombie");
  }
  return st;
}

}  // namespace watchd
