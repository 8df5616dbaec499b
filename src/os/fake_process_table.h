// A ProcessTable that a test drives: processes, pidfiles and clocks held in
// memory, so that a replaced process, a recycled pid, a stepped wall clock
// or a hostile pidfile can be staged exactly and without a real machine's
// timing. Header-only, for any test that takes a ProcessTable.
//
// Signal() never fails quietly: a signal asked for an identity that is not
// the live process with that pid (no such pid, or another start time) is
// what a real table's pidfd check would refuse, and the code under test
// should never even ask for it, so it is recorded in errors() for the test
// to assert on.
#ifndef WATCHD_OS_FAKE_PROCESS_TABLE_H_
#define WATCHD_OS_FAKE_PROCESS_TABLE_H_

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "os/process_table.h"
#include "os/procfs.h"

namespace watchd {

class FakeProcessTable : public ProcessTable {
 public:
  static constexpr int64_t kTicksPerSecond = 100;
  static constexpr int64_t kTickNs = 1000000000 / kTicksPerSecond;

  struct Process {
    pid_t pid = 0;
    uint64_t start_time = 0;  // ticks of the boot clock
    pid_t ppid = 1;
    uint32_t uid = 0;  // real and effective alike
    char state = 'S';  // R S T Z
    uint64_t rss_bytes = 16 << 20;
    std::string comm;
    // SIGTERM does nothing (a process stuck in a handler, or stopped).
    bool ignores_term = false;
  };

  struct Pidfile {
    std::string contents;
    uint32_t owner = 0;
    uint32_t mode = 0644;
    bool regular = true;  // false: a FIFO or directory in its place
    FileStamp stamp;
    // When it was written and last changed in any way, by the boot clock
    // (which no one steps), and whether its mtime was set by hand since:
    // what a test needs to tell a recycled pid from a clock mistake.
    int64_t written_boot_ns = 0;
    int64_t changed_boot_ns = 0;
    bool backdated = false;
    // The boot time as the wall clock read it when it was written.
    int64_t written_boot_wall_ns = 0;
  };

  struct SentSignal {
    ProcessIdentity target;
    int signo = 0;
    bool delivered = false;
  };

  // `boot_clock` stands for CLOCK_BOOTTIME (its time since the epoch is the
  // time since boot): a test's FakeClock, so process start times follow
  // the loop's time. The wall clock starts at `wall_at_boot_ns` + that.
  explicit FakeProcessTable(const Clock* boot_clock,
                            int64_t wall_at_boot_ns = 1700000000LL * 1000000000)
      : boot_clock_(boot_clock), boot_wall_ns_(wall_at_boot_ns) {}

  // --- the world, as a test changes it ------------------------------------

  // Pids that Spawn picks from (at random when `pick` is given, else the
  // lowest free one): a small range makes pid reuse common.
  void SetPidRange(pid_t lo, pid_t hi) {
    pid_lo_ = lo;
    pid_hi_ = hi;
  }

  // A new process, started now; `pid` 0 picks a free one (0 if none is).
  // `pick` (a random draw) chooses among the free pids.
  pid_t Spawn(pid_t ppid, uint32_t uid, std::string comm, pid_t pid = 0,
              uint64_t pick = 0) {
    if (pid == 0) pid = FreePid(pick);
    if (pid == 0 || processes_.count(pid)) return 0;
    Process p;
    p.pid = pid;
    p.start_time = static_cast<uint64_t>(BootNs() / kTickNs);
    p.ppid = ppid;
    p.uid = uid;
    p.comm = std::move(comm);
    processes_[pid] = p;
    return pid;
  }

  Process* Find(pid_t pid) {
    auto it = processes_.find(pid);
    return it == processes_.end() ? nullptr : &it->second;
  }
  const std::map<pid_t, Process>& processes() const { return processes_; }

  ProcessIdentity IdentityOf(pid_t pid) {
    const Process* p = Find(pid);
    return p ? ProcessIdentity{pid, p->start_time} : ProcessIdentity{};
  }

  // The process ends: a zombie until reaped when `zombie`, else gone. Its
  // children are reparented to pid 1, as the kernel does.
  void Exit(pid_t pid, bool zombie = false) {
    Process* p = Find(pid);
    if (p == nullptr) return;
    for (auto& [cpid, child] : processes_) {
      if (child.ppid == pid) child.ppid = 1;
    }
    if (zombie) {
      p->state = 'Z';
    } else {
      processes_.erase(pid);
    }
  }
  void Reap(pid_t pid) {
    Process* p = Find(pid);
    if (p != nullptr && p->state == 'Z') processes_.erase(pid);
  }

  // Writes (replaces, as rename() does: a new inode) a pidfile now.
  void WritePidfile(const std::string& path, std::string contents,
                    uint32_t owner = 0, uint32_t mode = 0644) {
    Pidfile& f = files_[path];
    f.contents = std::move(contents);
    f.owner = owner;
    f.mode = mode;
    f.regular = true;
    f.stamp.dev = 1;
    f.stamp.ino = ++next_ino_;
    f.stamp.size = static_cast<int64_t>(f.contents.size());
    f.stamp.mtime_ns = f.stamp.ctime_ns = WallClockNs();
    f.written_boot_ns = f.changed_boot_ns = BootNs();
    f.backdated = false;
    f.written_boot_wall_ns = boot_wall_ns_;
  }
  // chown, chmod and utimensat change the ctime, as on a real file system:
  // a cached read must not survive them.
  void Chown(const std::string& path, uint32_t owner) {
    if (Pidfile* f = FindFile(path)) {
      f->owner = owner;
      f->stamp.ctime_ns = WallClockNs();
      f->changed_boot_ns = BootNs();
    }
  }
  void Chmod(const std::string& path, uint32_t mode) {
    if (Pidfile* f = FindFile(path)) {
      f->mode = mode;
      f->stamp.ctime_ns = WallClockNs();
      f->changed_boot_ns = BootNs();
    }
  }
  void SetMtime(const std::string& path, int64_t mtime_ns) {
    if (Pidfile* f = FindFile(path)) {
      f->stamp.mtime_ns = mtime_ns;
      f->stamp.ctime_ns = WallClockNs();
      f->changed_boot_ns = BootNs();
      f->backdated = true;
    }
  }
  // Something that is not a regular file takes the pidfile's place.
  void ReplaceWithFifo(const std::string& path) {
    Pidfile& f = files_[path];
    f = Pidfile();
    f.regular = false;
    f.stamp.dev = 1;
    f.stamp.ino = ++next_ino_;
    f.stamp.mtime_ns = f.stamp.ctime_ns = WallClockNs();
    f.written_boot_ns = f.changed_boot_ns = BootNs();
  }
  void RemoveFile(const std::string& path) { files_.erase(path); }
  Pidfile* FindFile(const std::string& path) {
    auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
  }

  // Steps the wall clock (an NTP step, an operator's `date -s`); the boot
  // clock, and so every start time, is untouched.
  void StepWallClock(Duration d) { boot_wall_ns_ += d.count(); }

  void Protect(pid_t pid) { protected_.insert(pid); }
  // Pidfiles of this uid (and of root) are trusted.
  void set_trusted_uid(uint32_t uid) { trusted_uid_ = uid; }

  // Every signal asked for, in order, and what was wrong with any of them.
  const std::vector<SentSignal>& signals() const { return signals_; }
  const std::vector<std::string>& errors() const { return errors_; }

  // Whether the pidfile would be untrusted, and why (as UntrustedBecause,
  // for the file alone: the fake has no directories).
  std::string UntrustedReason(const Pidfile& f) const {
    if (f.owner != 0 && f.owner != trusted_uid_) {
      return "it is owned by uid " + std::to_string(f.owner);
    }
    if (f.mode & 022) return "it is writable by group or others";
    return "";
  }

  // --- ProcessTable -------------------------------------------------------

  Result<ProcStat> Stat(pid_t pid) override {
    const Process* p = Find(pid);
    if (p == nullptr) {
      return Status::Error("pid " + std::to_string(pid) + " is not running");
    }
    ProcStat st;
    st.pid = p->pid;
    st.state = p->state;
    st.ppid = p->ppid;
    st.start_time = p->start_time;
    st.rss_bytes = p->state == 'Z' ? 0 : p->rss_bytes;
    st.comm = p->comm;
    return st;
  }

  Result<ProcessUids> Uids(pid_t pid) override {
    const Process* p = Find(pid);
    if (p == nullptr) {
      return Status::Error("pid " + std::to_string(pid) + " is gone");
    }
    return ProcessUids{p->uid, p->uid};
  }

  std::vector<pid_t> Descendants(pid_t pid) override {
    std::vector<pid_t> out;
    std::vector<pid_t> todo = {pid};
    while (!todo.empty()) {
      pid_t parent = todo.back();
      todo.pop_back();
      for (const auto& [cpid, child] : processes_) {
        // The bound guards against a cycle a test might build by mistake.
        if (child.ppid == parent && cpid != pid && out.size() < 4096) {
          out.push_back(cpid);
          todo.push_back(cpid);
        }
      }
    }
    return out;
  }

  Result<FileStamp> Stamp(const std::string& path) override {
    const Pidfile* f = FindFile(path);
    if (f == nullptr) {
      return Status::Error("cannot stat " + path +
                           ": No such file or directory");
    }
    return f->stamp;
  }

  Result<PidfileContents> ReadPidfile(const std::string& path) override {
    const Pidfile* f = FindFile(path);
    if (f == nullptr) {
      return Status::Error("cannot open pidfile " + path +
                           ": No such file or directory");
    }
    if (!f->regular) {
      return Status::Error("pidfile " + path + " is not a regular file");
    }
    // As ParsePidfile: digits, trailing whitespace allowed.
    std::string_view text = f->contents;
    size_t end = text.find_last_not_of(" \t\r\n");
    text = end == std::string_view::npos ? "" : text.substr(0, end + 1);
    int64_t pid = 0;
    bool ok = !text.empty() && text.size() <= 10 &&
              text.find_first_not_of("0123456789") == std::string_view::npos;
    for (char c : text) {
      if (!ok) break;
      pid = pid * 10 + (c - '0');
    }
    if (!ok || pid <= 0 || pid > INT32_MAX) {
      return Status::Error("pidfile " + path + " holds no pid");
    }
    return PidfileContents{static_cast<pid_t>(pid), f->stamp, f->owner,
                           UntrustedReason(*f)};
  }

  Status Signal(const ProcessIdentity& process, int signo) override {
    Process* p = Find(process.pid);
    const bool same = p != nullptr && p->start_time == process.start_time;
    signals_.push_back({process, signo, same});
    if (!same) {
      errors_.push_back("signal " + std::to_string(signo) + " asked for pid " +
                        std::to_string(process.pid) + " started at tick " +
                        std::to_string(process.start_time) + ", but " +
                        (p == nullptr ? std::string("no such process exists")
                                      : "pid " + std::to_string(process.pid) +
                                            " started at tick " +
                                            std::to_string(p->start_time)));
      return Status::Error("no such process");
    }
    if (p->state == 'Z') return Status::Ok();  // as kill(2) on a zombie
    switch (signo) {
      case SIGKILL:
        Exit(process.pid);
        break;
      case SIGTERM:
        // A stopped process acts on SIGTERM only once continued.
        if (!p->ignores_term && p->state != 'T') Exit(process.pid);
        break;
      case SIGSTOP:
        p->state = 'T';
        break;
      case SIGCONT:
        if (p->state == 'T') p->state = 'S';
        break;
      default:
        break;
    }
    return Status::Ok();
  }

  int64_t WallClockNs() override { return boot_wall_ns_ + BootNs(); }
  int64_t BootWallClockNs() override { return boot_wall_ns_; }
  // CLOCK_BOOTTIME, in ns.
  int64_t BootNs() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               boot_clock_->Now().time_since_epoch())
        .count();
  }
  int64_t TicksPerSecond() override { return kTicksPerSecond; }
  bool IsProtected(pid_t pid) override {
    return pid <= 1 || protected_.count(pid) > 0;
  }

 private:
  pid_t FreePid(uint64_t pick) {
    if (pick == 0 || pid_hi_ - pid_lo_ > 4096) {
      for (pid_t p = pid_lo_; p <= pid_hi_; ++p) {
        if (!processes_.count(p)) return p;
      }
      return 0;
    }
    std::vector<pid_t> free;
    for (pid_t p = pid_lo_; p <= pid_hi_; ++p) {
      if (!processes_.count(p)) free.push_back(p);
    }
    if (free.empty()) return 0;
    return free[pick % free.size()];
  }

  const Clock* boot_clock_;
  int64_t boot_wall_ns_;
  uint32_t trusted_uid_ = 0;
  pid_t pid_lo_ = 100;
  pid_t pid_hi_ = 32767;
  uint64_t next_ino_ = 1000;
  std::map<pid_t, Process> processes_;
  std::map<std::string, Pidfile> files_;
  std::set<pid_t> protected_;
  std::vector<SentSignal> signals_;
  std::vector<std::string> errors_;
};

}  // namespace watchd

#endif  // WATCHD_OS_FAKE_PROCESS_TABLE_H_
