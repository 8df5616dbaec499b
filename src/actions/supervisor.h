// What watchd asks of a service's supervisor (supervisord, systemd, or the
// operator's commands). Every call is asynchronous on the loop, bounded by
// the supervisor's `timeout`, and cancelled by destroying its handle.
#ifndef WATCHD_ACTIONS_SUPERVISOR_H_
#define WATCHD_ACTIONS_SUPERVISOR_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/status.h"

namespace watchd {

class CurlMulti;
class EventLoop;

// The program as a supervisor names it, and what commands may substitute.
struct ProgramRef {
  std::string service;  // {service}
  std::string program;  // {program}: supervisord program, systemd unit
  pid_t pid = 0;        // {pid}: the recorded process, 0 when none
};

// What the supervisor's own restart policy says of a program it is not
// running, beyond "stopped".
enum class ProgramHold : uint8_t {
  kNone,
  // It is still retrying by that policy (supervisord BACKOFF, systemd
  // auto-restart): a new process is on its way.
  kBackingOff,
  // It gave up by that policy (systemd start-limit-hit, supervisord FATAL)
  // and starts the program no more until that is cleared (Recover).
  kGaveUp,
};

struct ProgramStatus {
  pid_t pid = 0;      // 0 when not running
  std::string state;  // the supervisor's word: RUNNING, STOPPED, active, ...
  ProgramHold hold = ProgramHold::kNone;  // only with pid 0
  // The supervisor's words for the hold: "start-limit-hit", "FATAL (Exited
  // too quickly (process log may have details))".
  std::string hold_reason = {};
};

// What GetStatusReply answers: GetStatus's result, and whether its error
// means the supervisor has no such program (a mistake in the configuration,
// worth a state of its own) rather than that asking it failed.
struct StatusReply {
  Result<ProgramStatus> status;
  bool unknown_program = false;  // only with an error
};

// A call in flight; destroying it cancels the call (its callback will not
// run). Holding it past the callback is harmless.
class SupervisorCall {
 public:
  virtual ~SupervisorCall() = default;
};

class Supervisor {
 public:
  using Done = std::function<void(Status)>;
  using StatusDone = std::function<void(Result<ProgramStatus>)>;
  using StatusReplyDone = std::function<void(StatusReply)>;

  virtual ~Supervisor() = default;

  // Each callback runs exactly once, later on the loop (never before the
  // call returns), unless the returned handle is destroyed first. Errors
  // carry a short reason ("supervisord has no program 'web'", "systemctl
  // restart web.service: exit 1: ...", "timed out after 30s").
  virtual std::unique_ptr<SupervisorCall> Restart(const ProgramRef& program,
                                                  Done done) = 0;
  virtual std::unique_ptr<SupervisorCall> Start(const ProgramRef& program,
                                                Done done) = 0;
  // Clears the supervisor's give-up (ProgramHold::kGaveUp) and has it start
  // the program again: systemd `reset-failed` then `start --no-block`,
  // supervisord `startProcess` without waiting. Ok once the supervisor has
  // taken the program up again, whether or not it then stays up: a program
  // that fails at once is given up again, which the next look sees. An
  // error from a supervisor that has no give-up to clear (command).
  virtual std::unique_ptr<SupervisorCall> Recover(const ProgramRef& program,
                                                  Done done) = 0;
  // The program's pid and state, telling a program the supervisor does not
  // know from a failure to ask. Where the supervisor cannot report pids
  // (command), an error saying so. supervisord and systemd answer the calls
  // made close together with one request (actions/status_batcher.h).
  virtual std::unique_ptr<SupervisorCall> GetStatusReply(
      const ProgramRef& program, StatusReplyDone done) = 0;
  // GetStatusReply's status alone.
  std::unique_ptr<SupervisorCall> GetStatus(const ProgramRef& program,
                                            StatusDone done);
  // Whether GetStatus can work at all (else services need a pidfile).
  virtual bool reports_pid() const = 0;
};

Result<std::unique_ptr<Supervisor>> MakeSupervisor(
    const SupervisorConfig& config, EventLoop* loop, CurlMulti* curl);

}  // namespace watchd

#endif  // WATCHD_ACTIONS_SUPERVISOR_H_
