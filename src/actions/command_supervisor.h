// The `command` supervisor: the operator's argv templates, run as child
// processes. Also the child-process calls the systemd adapter shares.
#ifndef WATCHD_ACTIONS_COMMAND_SUPERVISOR_H_
#define WATCHD_ACTIONS_COMMAND_SUPERVISOR_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actions/supervisor.h"
#include "core/clock.h"
#include "os/child_process.h"

namespace watchd {

// Restart runs config.restart; Start runs config.start, or config.restart
// when there is none. A template with a {pid} argument fails without running
// when the program has no pid. GetStatus always fails: commands report no
// pid, and Recover always fails: commands have no give-up to clear. Fails
// when config.restart is empty.
Result<std::unique_ptr<Supervisor>> MakeCommandSupervisor(
    const SupervisorConfig& config, EventLoop* loop);

// A call that runs argv as a child bounded by `timeout` (its process group
// SIGKILLed then) and hands the result to `done` on the loop. Destroying the
// call kills the child and `done` never runs.
std::unique_ptr<SupervisorCall> RunChildCall(
    EventLoop* loop, const std::vector<std::string>& argv, Duration timeout,
    std::function<void(const ChildResult&)> done,
    const SpawnOptions& options = {});

// A call whose `done` runs on the next loop pass, for answers known at once
// (callbacks never run inside the call that starts them).
std::unique_ptr<SupervisorCall> CompleteLater(EventLoop* loop,
                                              std::function<void()> done);

// Why a child failed, for reasons: "exit 3: <first line of its output>",
// "killed by signal 9", "timed out after 30s" or the spawn error.
std::string DescribeChildFailure(const ChildResult& result);

}  // namespace watchd

#endif  // WATCHD_ACTIONS_COMMAND_SUPERVISOR_H_
