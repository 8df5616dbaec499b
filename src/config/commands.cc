#include "config/commands.h"

#include "config/diagnostics.h"
#include "os/child_process.h"

namespace watchd {
namespace {

void CheckCommand(const std::vector<std::string>& argv,
                  const SourceLocation& where, Diagnostics* diag) {
  // An empty argv was refused by the parser, which reported it.
  if (argv.empty() || argv[0].empty()) return;
  Status s = CheckExecutable(argv[0]);
  if (!s.ok()) diag->Error(where, "cannot run " + s.message());
}

}  // namespace

void CheckCommands(const Config& config, Diagnostics* diag) {
  for (const auto& [name, s] : config.supervisors) {
    switch (s.type) {
      case SupervisorType::kCommand:
        CheckCommand(s.restart, s.restart_location, diag);
        CheckCommand(s.start, s.start_location, diag);
        break;
      case SupervisorType::kSystemd:
        CheckCommand(s.systemctl, s.systemctl_location, diag);
        break;
      case SupervisorType::kSupervisord:
        break;
    }
  }
  for (const ServiceConfig& service : config.services) {
    for (const CheckConfig& check : service.checks) {
      if (const auto* exec = std::get_if<ExecProbeConfig>(&check.probe)) {
        CheckCommand(exec->argv, exec->argv0_location, diag);
      }
    }
  }
  for (const auto& [name, target] : config.notify.targets) {
    if (const auto* c = std::get_if<CommandTargetConfig>(&target.kind)) {
      CheckCommand(c->argv, c->argv0_location, diag);
    }
  }
}

}  // namespace watchd
