#include "health/pidfile_reader.h"

#include <time.h>

namespace watchd {
namespace {

int64_t WallClockNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

Result<PidfileContents> PidfileReader::Read(const std::string& path,
                                            TimePoint now) {
  last_cached_ = false;
  if (cached_ && now - read_at_ < kMaxAge) {
    auto stamp = StampFile(path);
    if (stamp.ok() && *stamp == cached_->stamp) {
      last_cached_ = true;
      return *cached_;
    }
  }
  cached_.reset();
  ++opens_;
  auto contents = ReadStampedPidfile(path);
  // Kept only once settled: any later change then gets a later ctime.
  if (contents.ok() &&
      contents->stamp.ctime_ns < WallClockNs() - settle_.count()) {
    cached_ = *contents;
    read_at_ = now;
  }
  return contents;
}

}  // namespace watchd
