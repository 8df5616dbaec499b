#include "probes/process_source.h"

namespace watchd {

void PendingLookup::Start(ProcessSource::Callback cb) {
  waiting_ = true;
  auto id = source_->Lookup(
      [this, cb = std::move(cb)](Result<ProcessIdentity> identity) {
        waiting_ = false;
        id_.reset();
        cb(std::move(identity));
      });
  if (waiting_) id_ = id;
}

void PendingLookup::Cancel() {
  if (id_) source_->CancelLookup(*id_);
  id_.reset();
  waiting_ = false;
}

}  // namespace watchd
