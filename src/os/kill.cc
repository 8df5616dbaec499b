#include "os/kill.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace watchd {
namespace {

// glibc 2.36's <sys/pidfd.h> lacks extern "C"; the raw syscalls link.
int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int PidfdSendSignal(int pidfd, int signo) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0));
}

}  // namespace

Status SignalIfSame(const ProcessIdentity& identity, int signo) {
  const std::string who = "pid " + std::to_string(identity.pid);
  int pidfd = PidfdOpen(identity.pid);
  if (pidfd < 0) return Status::Error(who + " is gone");
  // The pidfd now pins whichever process holds the pid; check it is ours.
  auto st = ReadProcStat(identity.pid);
  Status result;
  if (!st.ok()) {
    result = Status::Error(who + " is gone");
  } else if (st->start_time != identity.start_time) {
    result = Status::Error(who + " is another process now (recycled pid)");
  } else if (PidfdSendSignal(pidfd, signo) != 0) {
    result = Status::Error("cannot signal " + who + ": " + strerror(errno));
  }
  close(pidfd);
  return result;
}

}  // namespace watchd
