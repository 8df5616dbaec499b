// A real supervisord (/usr/bin/supervisord) for end-to-end tests: in the
// foreground, on a private unix socket in its own temp dir, running the
// programs a test gives it. Its view of a program is read over XML-RPC on
// that socket. Destruction ends supervisord and every process it spawned,
// even ones that ignore SIGTERM or are stopped.
#ifndef WATCHD_TESTS_SUPPORT_SUPERVISORD_FIXTURE_H_
#define WATCHD_TESTS_SUPPORT_SUPERVISORD_FIXTURE_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/subprocess.h"

namespace watchd::testing {

class Supervisord {
 public:
  struct ProgramInfo {
    std::string state;  // supervisord's statename: RUNNING, STOPPED, ...
    pid_t pid = 0;      // 0 when not running
  };

  Supervisord() = default;
  ~Supervisord();
  Supervisord(const Supervisord&) = delete;
  Supervisord& operator=(const Supervisord&) = delete;

  // A [program:NAME] section running `command` (argv), started with
  // supervisord (startsecs=1) and respawned when it exits; `extra` holds
  // more lines for the section ("stopwaitsecs=60\n"), not repeating those
  // keys but startsecs. Start() waits for it to be in state `settled` (a
  // program that exits at once settles in FATAL). Before Start().
  void AddProgram(const std::string& name,
                  const std::vector<std::string>& command,
                  const std::string& extra = "",
                  const std::string& settled = "RUNNING");
  // Writes supervisord.conf, starts supervisord and waits until its socket
  // answers and every program is in its settled state.
  bool Start();

  // For watchd's config: unix:///.../supervisor.sock.
  std::string url() const { return "unix://" + socket_path(); }
  std::string socket_path() const { return dir_.File("supervisor.sock"); }
  const TempDir& dir() const { return dir_; }
  // supervisord's own pid (to stop it as a test's fault).
  pid_t SupervisordPid() const { return process_.pid(); }
  // supervisord's own log, for failure messages.
  std::string Log() const;

  // supervisord's view of `program`; nullopt when it cannot be asked.
  std::optional<ProgramInfo> Info(const std::string& program) const;
  // The pid supervisord reports for `program`; 0 when none or unknown.
  pid_t Pid(const std::string& program) const;
  // The pid of `program` once it is RUNNING with a pid other than `old`;
  // 0 when that does not happen within `timeout`.
  pid_t WaitForRunning(const std::string& program, pid_t old,
                       std::chrono::milliseconds timeout) const;

 private:
  // Ends every process that carries this instance's environment tag.
  int KillTagged(int sig) const;

  TempDir dir_;
  std::string programs_;
  std::vector<std::pair<std::string, std::string>> settled_;  // name, state
  Subprocess process_;
};

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_SUPERVISORD_FIXTURE_H_
