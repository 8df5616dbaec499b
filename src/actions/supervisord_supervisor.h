// The `supervisord` supervisor: XML-RPC over HTTP (a unix socket or TCP) to
// supervisord's /RPC2, through CurlMulti, never blocking the loop.
#ifndef WATCHD_ACTIONS_SUPERVISORD_SUPERVISOR_H_
#define WATCHD_ACTIONS_SUPERVISORD_SUPERVISOR_H_

#include <memory>

#include "actions/supervisor.h"

namespace watchd {

// config.url: unix:///path/to/supervisor.sock or http://[user:pass@]host:port
// (credentials go as HTTP basic auth and never into reasons). Restart is
// stopProcess then startProcess, both waiting for the state change; a
// program already stopped (stop) or already running (start) is fine.
// Recover is startProcess without waiting for startsecs. GetStatus reports
// FATAL as given up and BACKOFF as backing off, with supervisord's
// description. The whole call is bounded by config.timeout. Fails on a
// malformed url.
Result<std::unique_ptr<Supervisor>> MakeSupervisordSupervisor(
    const SupervisorConfig& config, CurlMulti* curl);

}  // namespace watchd

#endif  // WATCHD_ACTIONS_SUPERVISORD_SUPERVISOR_H_
