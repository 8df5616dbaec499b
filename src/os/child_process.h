// A child process (an argv, never a shell) run asynchronously on the event
// loop: spawned, its output captured, timed out and reaped without ever
// blocking the loop. Used by the exec probe and by supervisor actions.
#ifndef WATCHD_OS_CHILD_PROCESS_H_
#define WATCHD_OS_CHILD_PROCESS_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/timer_wheel.h"

namespace watchd {

class EventLoop;

struct ChildResult {
  enum Kind { kExited, kSignaled, kTimedOut, kSpawnFailed };
  Kind kind = kSpawnFailed;
  int exit_code = 0;  // kExited
  int signal = 0;     // kSignaled (and kTimedOut: the SIGKILL it got)
  // stdout and stderr interleaved, cut at SpawnOptions::max_output bytes.
  std::string output;
  bool output_truncated = false;
  // kSpawnFailed: "exec /no/such: No such file or directory";
  // kTimedOut: "timed out after 2s".
  std::string error;
  Duration elapsed{0};  // spawn to reap

  bool success() const { return kind == kExited && exit_code == 0; }
  // "exit 0", "exit 3", "killed by signal 9", "timed out after 2s",
  // or the spawn error. Output is not included.
  std::string Describe() const;
};

struct SpawnOptions {
  // Output beyond this is read and dropped, so the child never blocks on a
  // full pipe.
  size_t max_output = 4096;
  // "NAME=value" entries the child gets besides (or instead of, for the
  // same NAME) what it keeps of the daemon's environment: only PATH (a
  // default one if unset), HOME, USER, LOGNAME, LANG, LANGUAGE, LC_* and
  // TZ. Nothing else is handed down: not systemd's NOTIFY_SOCKET,
  // WATCHDOG_* or LISTEN_*, nor a secret someone put in the daemon's.
  std::vector<std::string> env;
};

// One run. The child gets an empty signal mask and default signal
// dispositions, its own process group, stdin from /dev/null, stdout and
// stderr into one pipe, no other file descriptor, and a minimal
// environment (SpawnOptions::env). Requires Linux 5.3+
// (pidfd). Nothing else in the process may reap children it did not spawn
// (no waitpid(-1)): exits are seen per child through a pidfd.
class ChildProcess {
 public:
  using DoneCallback = std::function<void(const ChildResult&)>;

  // Starts argv (argv[0] searched on PATH when it has no '/'). `done` runs
  // exactly once, on the loop, never from within Spawn (a spawn failure too
  // arrives on the next loop pass); it may destroy this object. At
  // `timeout` (> 0) the whole process group is SIGKILLed and the run ends as
  // kTimedOut once the child is reaped.
  static std::unique_ptr<ChildProcess> Spawn(
      EventLoop* loop, const std::vector<std::string>& argv, Duration timeout,
      DoneCallback done, const SpawnOptions& options = {});

  // Kills the child's process group and abandons the run: `done` is not
  // called. The child is reaped in the background (no zombie is left).
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // SIGKILLs the process group now; the run still ends through `done`
  // (kSignaled, signal 9). A no-op once the child is reaped.
  void Kill();

  // The child's pid (also its process group id); -1 once reaped or when
  // the spawn failed.
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  ChildProcess(EventLoop* loop, DoneCallback done, size_t max_output);

  Status Start(const std::vector<std::string>& argv, Duration timeout,
               const std::vector<std::string>& env);
  void FailLater(std::string error);
  void OnOutputReadable();
  // Reads what the pipe holds, at most max_reads times; false at EOF.
  bool DrainOutput(int max_reads);
  void CloseOutput();
  void OnExitReadable();
  void OnTimeout();
  bool TryReap();
  void Finish();

  EventLoop* loop_;
  DoneCallback done_;
  size_t max_output_;
  TimePoint started_;
  Duration timeout_{0};
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int output_fd_ = -1;
  bool timed_out_ = false;
  ChildResult result_;
  Timer timer_;  // the deadline, or the deferred report of a spawn failure
};

// Whether argv0 can be run: a path ('/' in it) that is an executable
// regular file, or a name found as one on PATH. For --check-config.
Status CheckExecutable(const std::string& argv0);

}  // namespace watchd

#endif  // WATCHD_OS_CHILD_PROCESS_H_
