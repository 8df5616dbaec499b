#include "daemon/preflight.h"

#include "os/child_process.h"

namespace watchd {
namespace {

void CheckCommand(const std::vector<std::string>& argv,
                  const SourceLocation& where, const std::string& what,
                  std::vector<ConfigError>* errors) {
  if (argv.empty()) return;
  Status s = CheckExecutable(argv[0]);
  if (!s.ok()) errors->push_back({where, what + ": " + s.message()});
}

}  // namespace

std::vector<ConfigError> Preflight(const Config& config) {
  std::vector<ConfigError> errors;
  for (const auto& [name, s] : config.supervisors) {
    const std::string what = "supervisor " + name;
    switch (s.type) {
      case SupervisorType::kCommand:
        CheckCommand(s.restart, s.location, what + " restart", &errors);
        CheckCommand(s.start, s.location, what + " start", &errors);
        break;
      case SupervisorType::kSystemd:
        CheckCommand(s.systemctl, s.location, what, &errors);
        break;
      case SupervisorType::kSupervisord:
        break;
    }
  }
  for (const ServiceConfig& service : config.services) {
    for (const CheckConfig& check : service.checks) {
      if (const auto* exec = std::get_if<ExecProbeConfig>(&check.probe)) {
        CheckCommand(exec->argv, check.location,
                     "check " + service.name + "/" + check.name, &errors);
      }
    }
  }
  return errors;
}

}  // namespace watchd
