// Everything the supervision core reads of processes and pidfiles, and the
// one thing it does to a process (a signal): the real /proc, pidfds and
// files, or a fake table that a test drives (a replaced process, a stepped
// clock, a pidfile turned into a FIFO) without a real machine's timing.
#ifndef WATCHD_OS_PROCESS_TABLE_H_
#define WATCHD_OS_PROCESS_TABLE_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "os/procfs.h"

namespace watchd {

class ProcessTable {
 public:
  virtual ~ProcessTable() = default;

  // /proc/PID/stat; an error when there is no such process.
  virtual Result<ProcStat> Stat(pid_t pid) = 0;
  virtual Result<ProcessUids> Uids(pid_t pid) = 0;
  // Every descendant of pid, at this moment.
  virtual std::vector<pid_t> Descendants(pid_t pid) = 0;
  // See StampFile and ReadStampedPidfile: pidfiles of root and of this
  // table's own uid are the trusted ones.
  virtual Result<FileStamp> Stamp(const std::string& path) = 0;
  virtual Result<PidfileContents> ReadPidfile(const std::string& path) = 0;
  // Sends signo only to that exact process (SignalIfSame).
  virtual Status Signal(const ProcessIdentity& process, int signo) = 0;
  // The wall clock (CLOCK_REALTIME) in ns since the epoch.
  virtual int64_t WallClockNs() = 0;
  // Boot time as the wall clock reads it now (CLOCK_REALTIME minus
  // CLOCK_BOOTTIME): it moves when the wall clock is stepped.
  virtual int64_t BootWallClockNs() = 0;
  // Clock ticks per second of ProcStat::start_time.
  virtual int64_t TicksPerSecond() = 0;
  // Processes that are never a service's: pid 1 and watchd with its
  // ancestors (a pidfile naming one of them is wrong or hostile).
  virtual bool IsProtected(pid_t pid) = 0;

  // That exact process exists and is not a zombie.
  bool IsAlive(const ProcessIdentity& process);
};

// The machine's own table.
ProcessTable* SystemProcessTable();

}  // namespace watchd

#endif  // WATCHD_OS_PROCESS_TABLE_H_
