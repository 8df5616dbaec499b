// The `systemd` supervisor: `systemctl restart|start UNIT`, and the unit's
// MainPID and ActiveState from `systemctl show`.
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
