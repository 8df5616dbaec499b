// The `systemd` supervisor: `systemctl restart|start UNIT`, `systemctl
// reset-failed UNIT` before a start to recover a unit stopped for its start
// limit, and the unit's MainPID, ActiveState, SubState and Result from
// `systemctl show` (Result=start-limit-hit: systemd gave up on it;
// SubState=auto-restart: it will start it again by itself).
#ifndef WATCHD_ACTIONS_SYSTEMD_SUPERVISOR_H_
#define WATCHD_ACTIONS_SYSTEMD_SUPERVISOR_H_

#include <memory>

#include "actions/supervisor.h"

namespace watchd {

// Runs config.systemctl (an argv prefix such as [systemctl, --user]) followed
// by the verb and ProgramRef::program as the unit. Fails when the prefix is
// empty.
Result<std::unique_ptr<Supervisor>> MakeSystemdSupervisor(
    const SupervisorConfig& config, EventLoop* loop);

}  // namespace watchd

#endif  // WATCHD_ACTIONS_SYSTEMD_SUPERVISOR_H_
