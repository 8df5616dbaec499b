#include "os/process_table.h"

#include <time.h>
#include <unistd.h>

#include "os/kill.h"

namespace watchd {
namespace {

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

class SystemTable : public ProcessTable {
 public:
  SystemTable() {
    // watchd's ancestors do not change while it runs (a reparented watchd
    // keeps them protected, which errs on the safe side).
    for (pid_t p = getpid(); p > 1;) {
      protected_.push_back(p);
      auto st = ReadProcStat(p);
      if (!st.ok()) break;
      p = st->ppid;
    }
  }

  Result<ProcStat> Stat(pid_t pid) override { return ReadProcStat(pid); }
  Result<ProcessUids> Uids(pid_t pid) override { return ReadProcessUids(pid); }
  std::vector<pid_t> Descendants(pid_t pid) override {
    return ReadDescendants(pid);
  }
  Result<FileStamp> Stamp(const std::string& path) override {
    return StampFile(path);
  }
  Result<PidfileContents> ReadPidfile(const std::string& path) override {
    return ReadStampedPidfile(path, geteuid());
  }
  Status Signal(const ProcessIdentity& process, int signo) override {
    return SignalIfSame(process, signo);
  }
  int64_t WallClockNs() override { return ClockNs(CLOCK_REALTIME); }
  int64_t BootWallClockNs() override {
    return ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME);
  }
  int64_t TicksPerSecond() override { return ticks_; }
  bool IsProtected(pid_t pid) override {
    if (pid <= 1) return true;
    for (pid_t p : protected_) {
      if (p == pid) return true;
    }
    return false;
  }

 private:
  const int64_t ticks_ = sysconf(_SC_CLK_TCK);
  std::vector<pid_t> protected_;
};

}  // namespace

bool ProcessTable::IsAlive(const ProcessIdentity& process) {
  auto st = Stat(process.pid);
  return st.ok() && st->start_time == process.start_time && st->state != 'Z' &&
         st->state != 'X';
}

ProcessTable* SystemProcessTable() {
  static SystemTable* table = new SystemTable();
  return table;
}

}  // namespace watchd
