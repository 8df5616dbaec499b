#include "os/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

#include "core/event_loop.h"

namespace watchd {
namespace {

// What a child keeps of the daemon's environment (`name` ends with '='):
// where programs are and how to speak, nothing that names a socket, a
// descriptor or a secret of the daemon's.
bool HandedDown(std::string_view name) {
  for (std::string_view kept :
       {"PATH=", "HOME=", "USER=", "LOGNAME=", "LANG=", "LANGUAGE=", "TZ="}) {
    if (name == kept) return true;
  }
  return name.starts_with("LC_");
}

// systemd's default for services, when the daemon has no PATH.
constexpr char kDefaultPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Reads per readiness event, so that a child writing without pause cannot
// hold the loop; level-triggered epoll calls again for the rest.
constexpr int kReadsPerWakeup = 16;
// Reads after the child exited: what it wrote is in the pipe already; a
// grandchild still writing is not waited for.
constexpr int kFinalReads = 32;

std::string Errno(const std::string& what, int err = errno) {
  return what + ": " + strerror(err);
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so its pidfd_open cannot be
// linked from C++; the syscall is the same thing (and sets O_CLOEXEC).
int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// Reaps children that were killed and abandoned (their ChildProcess was
// destroyed mid-run). It lives on its own thread, not on a loop, so that
// it outlives every EventLoop and needs no wiring: the victims were
// SIGKILLed, so it polls them briefly, backing off in case one hangs in
// uninterruptible sleep. Never destroyed (a thread may still use it at
// exit); it blocks every signal so they all reach the loop's signalfd.
class Reaper {
 public:
  static Reaper& Instance() {
    static Reaper* const reaper = new Reaper;
    return *reaper;
  }

  void Adopt(pid_t pid) {
    std::lock_guard<std::mutex> lock(mu_);
    pids_.push_back(pid);
    fresh_ = true;
    cv_.notify_one();
  }

 private:
  Reaper() {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    std::thread([this] { Run(); }).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  }

  void Run() {
    using std::chrono::milliseconds;
    constexpr milliseconds kMaxDelay(100);
    milliseconds delay(1);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return !pids_.empty(); });
      if (fresh_) delay = milliseconds(1);
      fresh_ = false;
      std::erase_if(pids_, [](pid_t pid) {
        siginfo_t info{};
        if (waitid(P_PID, pid, &info, WEXITED | WNOHANG) != 0) {
          return errno != EINTR;  // ECHILD: nothing left to reap
        }
        return info.si_pid != 0;
      });
      if (pids_.empty()) continue;
      cv_.wait_for(lock, delay, [this] { return fresh_; });
      delay = std::min(delay * 2, kMaxDelay);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pid_t> pids_;
  bool fresh_ = false;  // a pid arrived since the last pass
};

// The file actions and attributes of every child. posix_spawn rather than
// fork/exec: glibc (2.24+) spawns with CLONE_VM|CLONE_VFORK, so a large
// daemon pays no page-table copy, and it reports an exec failure as an
// errno to the parent ("exec /no/such: No such file or directory") instead
// of a child exiting 127 — both of which fork/exec would have to rebuild.
class SpawnSetup {
 public:
  explicit SpawnSetup(int output_fd) {
    posix_spawn_file_actions_init(&actions_);
    posix_spawn_file_actions_addopen(&actions_, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions_, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions_, output_fd, 2);
    // Whatever the daemon has open without O_CLOEXEC stays with it.
    posix_spawn_file_actions_addclosefrom_np(&actions_, 3);

    posix_spawnattr_init(&attr_);
    // The loop thread blocks the signals of its signalfd; a child would
    // inherit that mask (and any SIG_IGN) and ignore a polite SIGTERM.
    sigset_t none, all;
    sigemptyset(&none);
    // Every bit, not sigfillset: glibc leaves its internal signals (32, 33)
    // out of that, and its spawn then sets them to SIG_IGN, which exec keeps.
    memset(&all, 0xff, sizeof(all));
    posix_spawnattr_setsigmask(&attr_, &none);
    posix_spawnattr_setsigdefault(&attr_, &all);
    // Its own group, so that a timeout's SIGKILL reaches grandchildren.
    posix_spawnattr_setpgroup(&attr_, 0);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK |
                                         POSIX_SPAWN_SETSIGDEF |
                                         POSIX_SPAWN_SETPGROUP);
  }
  ~SpawnSetup() {
    posix_spawnattr_destroy(&attr_);
    posix_spawn_file_actions_destroy(&actions_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

}  // namespace

std::string ChildResult::Describe() const {
  switch (kind) {
    case kExited:
      return "exit " + std::to_string(exit_code);
    case kSignaled:
      return "killed by signal " + std::to_string(signal);
    case kTimedOut:
    case kSpawnFailed:
      return error;
  }
  return error;
}

std::unique_ptr<ChildProcess> ChildProcess::Spawn(
    EventLoop* loop, const std::vector<std::string>& argv, Duration timeout,
    DoneCallback done, const SpawnOptions& options) {
  std::unique_ptr<ChildProcess> child(
      new ChildProcess(loop, std::move(done), options.max_output));
  Status status = child->Start(argv, timeout, options.env);
  if (!status.ok()) child->FailLater(status.message());
  return child;
}

ChildProcess::ChildProcess(EventLoop* loop, DoneCallback done,
                           size_t max_output)
    : loop_(loop),
      done_(std::move(done)),
      max_output_(max_output),
      started_(loop->Now()) {}

ChildProcess::~ChildProcess() {
  loop_->Cancel(&timer_);
  CloseOutput();
  if (pidfd_ >= 0) {
    loop_->Unwatch(pidfd_);
    close(pidfd_);
  }
  if (pid_ > 0) {
    // Not reaped yet, so the group id cannot have been recycled.
    kill(-pid_, SIGKILL);
    Reaper::Instance().Adopt(pid_);
  }
}

Status ChildProcess::Start(const std::vector<std::string>& argv,
                           Duration timeout,
                           const std::vector<std::string>& env) {
  if (argv.empty() || argv[0].empty()) return Status::Error("empty command");
  int fds[2];
  // Only our end is non-blocking: the child's writes must block, not fail.
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Error(Errno("pipe"));
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  output_fd_ = fds[0];

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Built before the spawn: posix_spawn's child may not allocate.
  std::vector<char*> envp;
  bool has_path = false;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('=') + 1);
    if (!HandedDown(name)) continue;
    bool replaced = std::any_of(env.begin(), env.end(), [&](const auto& x) {
      return std::string_view(x).starts_with(name);
    });
    if (!replaced) envp.push_back(*e);
    has_path = has_path || name == "PATH=";
  }
  for (const std::string& e : env) {
    envp.push_back(const_cast<char*>(e.c_str()));
    has_path = has_path || e.starts_with("PATH=");
  }
  if (!has_path) envp.push_back(const_cast<char*>(kDefaultPath));
  envp.push_back(nullptr);
  pid_t pid = -1;
  int err;
  {
    SpawnSetup setup(fds[1]);
    err = posix_spawnp(&pid, args[0], setup.actions(), setup.attr(),
                       args.data(), envp.data());
  }
  close(fds[1]);
  if (err != 0) return Status::Error(Errno("exec " + argv[0], err));
  pid_ = pid;

  // No race with the pid being recycled: only we reap it.
  pidfd_ = PidfdOpen(pid_);
  if (pidfd_ < 0) return Status::Error(Errno("pidfd_open"));
  Status watched =
      loop_->Watch(pidfd_, EPOLLIN, [this](uint32_t) { OnExitReadable(); });
  if (watched.ok()) {
    watched = loop_->Watch(output_fd_, EPOLLIN,
                           [this](uint32_t) { OnOutputReadable(); });
  }
  if (!watched.ok()) return watched;
  timeout_ = timeout;
  timer_.set_callback([this] { OnTimeout(); });
  loop_->ScheduleAfter(&timer_, timeout);
  return Status::Ok();
}

void ChildProcess::FailLater(std::string error) {
  CloseOutput();
  if (pidfd_ >= 0) {
    loop_->Unwatch(pidfd_);
    close(pidfd_);
    pidfd_ = -1;
  }
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);
    Reaper::Instance().Adopt(pid_);
    pid_ = -1;
  }
  result_.kind = ChildResult::kSpawnFailed;
  result_.error = std::move(error);
  timer_.set_callback([this] { Finish(); });
  loop_->ScheduleAfter(&timer_, Duration::zero());
}

void ChildProcess::Kill() {
  if (pid_ > 0) kill(-pid_, SIGKILL);
}

void ChildProcess::OnOutputReadable() {
  if (!DrainOutput(kReadsPerWakeup)) CloseOutput();
}

bool ChildProcess::DrainOutput(int max_reads) {
  char buf[65536];
  for (int i = 0; i < max_reads; ++i) {
    ssize_t n = read(output_fd_, buf, sizeof(buf));
    if (n > 0) {
      size_t room = max_output_ - std::min(max_output_, result_.output.size());
      size_t keep = std::min(room, static_cast<size_t>(n));
      result_.output.append(buf, keep);
      if (keep < static_cast<size_t>(n)) result_.output_truncated = true;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return n < 0 && errno == EAGAIN;  // false at EOF or on an error
    }
  }
  return true;
}

void ChildProcess::CloseOutput() {
  if (output_fd_ < 0) return;
  loop_->Unwatch(output_fd_);
  close(output_fd_);
  output_fd_ = -1;
}

void ChildProcess::OnExitReadable() {
  if (TryReap()) Finish();
}

void ChildProcess::OnTimeout() {
  // It may have exited with its pidfd event not handled yet.
  if (TryReap()) {
    Finish();
    return;
  }
  timed_out_ = true;
  result_.error = "timed out after " + FormatDuration(timeout_);
  kill(-pid_, SIGKILL);
}

bool ChildProcess::TryReap() {
  siginfo_t info{};
  if (waitid(P_PIDFD, pidfd_, &info, WEXITED | WNOHANG) != 0) {
    if (errno == EINTR) return false;
    // ECHILD: someone reaped our child (a waitpid(-1) elsewhere).
    result_.kind = ChildResult::kSpawnFailed;
    result_.error = Errno("waitid");
    pid_ = -1;
    return true;
  }
  if (info.si_pid == 0) return false;
  pid_ = -1;
  if (info.si_code == CLD_EXITED) {
    result_.kind = ChildResult::kExited;
    result_.exit_code = info.si_status;
  } else {
    result_.kind = ChildResult::kSignaled;
    result_.signal = info.si_status;
  }
  if (timed_out_) result_.kind = ChildResult::kTimedOut;
  return true;
}

void ChildProcess::Finish() {
  if (output_fd_ >= 0) {
    DrainOutput(kFinalReads);
    CloseOutput();
  }
  if (pidfd_ >= 0) {
    loop_->Unwatch(pidfd_);
    close(pidfd_);
    pidfd_ = -1;
  }
  loop_->Cancel(&timer_);
  result_.elapsed = loop_->Now() - started_;
  // Locals: `done` may destroy this object.
  DoneCallback done = std::move(done_);
  ChildResult result = std::move(result_);
  done(result);
}

Status CheckExecutable(const std::string& argv0) {
  if (argv0.empty()) return Status::Error("empty command");
  auto runnable = [](const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           access(path.c_str(), X_OK) == 0;
  };
  if (argv0.find('/') != std::string::npos) {
    struct stat st;
    if (stat(argv0.c_str(), &st) != 0) return Status::Error(Errno(argv0));
    if (!S_ISREG(st.st_mode)) {
      return Status::Error(argv0 + ": not a regular file");
    }
    if (access(argv0.c_str(), X_OK) != 0) {
      return Status::Error(argv0 + ": not executable");
    }
    return Status::Ok();
  }
  // As posix_spawnp searches: $PATH, else glibc's default, "" meaning ".".
  const char* env = getenv("PATH");
  std::string path = env != nullptr ? env : "/bin:/usr/bin";
  size_t begin = 0;
  for (;;) {
    size_t end = path.find(':', begin);
    std::string dir = path.substr(begin, end - begin);
    if (runnable((dir.empty() ? "." : dir) + "/" + argv0)) return Status::Ok();
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return Status::Error(argv0 + ": not found on PATH");
}

}  // namespace watchd
