#include "actions/supervisor.h"

#include <utility>

#include "actions/command_supervisor.h"
#include "actions/supervisord_supervisor.h"
#include "actions/systemd_supervisor.h"

namespace watchd {

namespace {

Result<std::unique_ptr<Supervisor>> Make(const SupervisorConfig& config,
                                         EventLoop* loop, CurlMulti* curl) {
  if (config.timeout <= Duration::zero()) {
    return Status::Error("timeout must be positive");
  }
  switch (config.type) {
    case SupervisorType::kSupervisord:
      if (curl == nullptr) return Status::Error("supervisord needs libcurl");
      return MakeSupervisordSupervisor(config, curl);
    case SupervisorType::kSystemd:
      return MakeSystemdSupervisor(config, loop);
    case SupervisorType::kCommand:
      return MakeCommandSupervisor(config, loop);
  }
  return Status::Error("unknown supervisor type");
}

}  // namespace

std::unique_ptr<SupervisorCall> Supervisor::GetStatus(const ProgramRef& program,
                                                      StatusDone done) {
  return GetStatusReply(program, [done = std::move(done)](StatusReply reply) {
    done(std::move(reply.status));
  });
}

Result<std::unique_ptr<Supervisor>> MakeSupervisor(
    const SupervisorConfig& config, EventLoop* loop, CurlMulti* curl) {
  Result<std::unique_ptr<Supervisor>> supervisor = Make(config, loop, curl);
  if (!supervisor.ok()) {
    return Status::Error("supervisor '" + config.name +
                         "': " + supervisor.status().message());
  }
  return supervisor;
}

}  // namespace watchd
