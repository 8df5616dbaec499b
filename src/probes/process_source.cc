#include "probes/process_source.h"

#include <string>
#include <utility>

namespace watchd {

void PendingLookup::Start(ProcessSource::Callback cb) {
  cb_ = std::move(cb);
  waiting_ = true;
  auto id = source_->Lookup([this](Result<FoundProcess> found) {
    waiting_ = false;
    id_.reset();
    // Moved out first: the callback may start the next lookup.
    ProcessSource::Callback cb = std::move(cb_);
    cb_ = nullptr;
    cb(std::move(found));
  });
  if (waiting_) id_ = id;
}

void PendingLookup::Cancel() {
  if (id_) source_->CancelLookup(*id_);
  id_.reset();
  waiting_ = false;
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
