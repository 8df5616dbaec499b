// Reading processes from /proc: identity (pid + start time, so a recycled
// pid is never mistaken for the process watchd recorded), state, memory and
// descendants. Cheap synchronous reads, fine on the loop.
#ifndef WATCHD_OS_PROCFS_H_
#define WATCHD_OS_PROCFS_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace watchd {

// A process as watchd recorded it: the pid alone is not an identity.
struct ProcessIdentity {
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/PID/stat field 22, clock ticks since boot

  bool operator==(const ProcessIdentity&) const = default;
};

struct ProcStat {
  pid_t pid = 0;
  char state = '?';  // R S D T t Z X I ...
  pid_t ppid = 0;
  uint64_t start_time = 0;
  uint64_t rss_bytes = 0;  // field 24 (pages), as statm's resident
  std::string comm;
};

// Fields of /proc/PID/stat; an error when the process does not exist.
Result<ProcStat> ReadProcStat(pid_t pid,
                              const std::string& proc_root = "/proc");
// Parses the text of a stat file (comm may hold spaces and parentheses).
Result<ProcStat> ParseProcStat(std::string_view text);

// Resident set size in bytes (VmRSS of /proc/PID/status).
Result<uint64_t> ReadRssBytes(pid_t pid,
                              const std::string& proc_root = "/proc");

// Every descendant of pid (children, grandchildren, ...), via
// /proc/PID/task/*/children, at most `max` of them: the walk runs on the
// loop, and a fork bomb must not hold it.
inline constexpr size_t kMaxDescendants = 100000;
std::vector<pid_t> ReadDescendants(pid_t pid, size_t max = kMaxDescendants,
                                   const std::string& proc_root = "/proc");

// Seconds since the process started (CLOCK_BOOTTIME, the clock of its
// start time).
double ProcessUptimeSeconds(uint64_t start_time);

// "running", "sleeping", "disk sleep", "stopped", "zombie", ...
const char* ProcStateName(char state);

// Reads a pidfile: a positive decimal pid, optionally followed by a newline.
Result<pid_t> ReadPidfile(const std::string& path);

// One version of a file, cheap to compare: rewriting or replacing a file
// changes its ctime (and usually more), which no one can set back.
struct FileStamp {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;  // since the epoch
  int64_t ctime_ns = 0;

  bool operator==(const FileStamp&) const = default;
};

// The stamp of the file at path (following symlinks).
Result<FileStamp> StampFile(const std::string& path);

// A pidfile's pid with the stamp and owner of the very file it was read
// from (fstat of the opened file, so a replacement in between cannot mix
// them).
struct PidfileContents {
  pid_t pid = 0;
  FileStamp stamp;
  uid_t owner = 0;
  // Why a user other than root or the trusted uid could have written it
  // (see UntrustedBecause); empty when none could.
  std::string untrusted;
};
// Refuses what is not a regular file (a FIFO, a directory, a symlink),
// without blocking.
Result<PidfileContents> ReadStampedPidfile(const std::string& path,
                                           uid_t trusted_uid);

// The real and effective uid of a process (/proc/PID/status).
struct ProcessUids {
  uint32_t real = 0;
  uint32_t effective = 0;
};
Result<ProcessUids> ReadProcessUids(pid_t pid,
                                    const std::string& proc_root = "/proc");

}  // namespace watchd

#endif  // WATCHD_OS_PROCFS_H_
