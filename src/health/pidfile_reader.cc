#include "health/pidfile_reader.h"

#include "os/process_table.h"

namespace watchd {

Result<PidfileContents> PidfileReader::Read(const std::string& path,
                                            TimePoint now) {
  last_cached_ = false;
  if (cached_ && now - read_at_ < kMaxAge) {
    auto stamp = table_->Stamp(path);
    if (stamp.ok() && *stamp == cached_->stamp) {
      last_cached_ = true;
      return *cached_;
    }
  }
  cached_.reset();
  ++opens_;
  auto contents = table_->ReadPidfile(path);
  // Kept only once settled: any later change then gets a later ctime.
  if (contents.ok() &&
      contents->stamp.ctime_ns < table_->WallClockNs() - settle_.count()) {
    cached_ = *contents;
    read_at_ = now;
  }
  return contents;
}

}  // namespace watchd
