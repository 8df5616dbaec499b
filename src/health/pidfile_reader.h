// A service's pidfile, read again only when it changed: one stat() per
// lookup instead of open + fstat + read + close, for lookups that run every
// second for each of thousands of services.
#ifndef WATCHD_HEALTH_PIDFILE_READER_H_
#define WATCHD_HEALTH_PIDFILE_READER_H_

#include <optional>
#include <string>

#include "core/clock.h"
#include "core/status.h"
#include "os/procfs.h"

namespace watchd {

class ProcessTable;

class PidfileReader {
 public:
  // A version of the file younger than this (by its ctime) is read again
  // every time: a rewrite within the file system's timestamp granularity
  // could leave every field of stat() as it was.
  static constexpr Duration kSettle = std::chrono::seconds(1);
  // Read again at least this often whatever stat() says, for file systems
  // whose timestamps come from another machine's clock.
  static constexpr Duration kMaxAge = std::chrono::seconds(10);

  explicit PidfileReader(ProcessTable* table, Duration settle = kSettle)
      : table_(table), settle_(settle) {}

  // The pid the file at `path` names now; `now` is the loop's time.
  Result<PidfileContents> Read(const std::string& path, TimePoint now);
  // Whether the last Read() was answered without reading the file.
  bool last_cached() const { return last_cached_; }
  // The next Read() reads the file (an answer that led nowhere).
  void Forget() { cached_.reset(); }
  // Times the file was opened, for tests.
  int opens() const { return opens_; }

 private:
  ProcessTable* table_;
  Duration settle_;
  std::optional<PidfileContents> cached_;
  TimePoint read_at_{};
  bool last_cached_ = false;
  int opens_ = 0;
};

}  // namespace watchd

#endif  // WATCHD_HEALTH_PIDFILE_READER_H_
