// Signals a process only if it is still the one watchd recorded: the pid is
// pinned with a pidfd first, then its start time is compared, so a pid the
// kernel recycled in between can never be hit.
#ifndef WATCHD_OS_KILL_H_
#define WATCHD_OS_KILL_H_

#include "core/status.h"
#include "os/procfs.h"

namespace watchd {

// Ok when the signal was sent; an error (and no signal) when the process is
// gone, is another process now, or cannot be signalled.
Status SignalIfSame(const ProcessIdentity& identity, int signo);

}  // namespace watchd

#endif  // WATCHD_OS_KILL_H_
