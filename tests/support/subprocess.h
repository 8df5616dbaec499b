// A child process for tests: real servers (python3, nginx, supervisord,
// dnsmasq) and the watchd binary itself. Killed and reaped on destruction.
#ifndef WATCHD_TESTS_SUPPORT_SUBPROCESS_H_
#define WATCHD_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace watchd::testing {

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Starts argv (argv[0] searched on PATH). stdout and stderr both go to
  // `log_path` when given, else are inherited. Returns false on failure.
  bool Start(const std::vector<std::string>& argv,
             const std::string& log_path = "");
  // For the next Starts: "NAME=value" entries added to (or replacing in)
  // the inherited environment, and a variable set to the child's own pid
  // (systemd's WATCHDOG_PID), unless "".
  void SetEnv(std::vector<std::string> env, std::string pid_variable = "") {
    env_ = std::move(env);
    pid_variable_ = std::move(pid_variable);
  }
  pid_t pid() const { return pid_; }
  bool running();
  // Sends sig; returns false when the process is gone.
  bool Signal(int sig);
  // Waits up to `timeout` for exit; the exit status (as from waitpid) or
  // nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; always reaps.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::vector<std::string> env_;
  std::string pid_variable_;
};

// Path of a file under the source tree / build tree.
std::string SourcePath(const std::string& relative);
std::string BinaryPath(const std::string& relative);

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

bool WriteFile(const std::string& path, const std::string& content);
// Writes a sibling file and renames it over `path`: a reader sees the old
// content or the new, never an empty or partial file.
bool ReplaceFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

// Starts one of tests/servers/*.py (`script`, relative to the source tree)
// with `args` plus `--ready-file`, logging to `log_path`, and waits up to
// 15 s for it to say it is ready. False (the log holds why) on failure.
bool StartTestServer(Subprocess* server, const std::string& script,
                     const std::vector<std::string>& args,
                     const std::string& ready_file,
                     const std::string& log_path);

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_SUBPROCESS_H_
