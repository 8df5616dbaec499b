#include "config/config_diff.h"

namespace watchd {
namespace {

CheckConfig Placeless(CheckConfig c) {
  c.location = {};
  if (auto* exec = std::get_if<ExecProbeConfig>(&c.probe)) {
    exec->argv0_location = {};
  }
  return c;
}

// Whatever fields ServiceConfig gains count, unless cleared here.
ServiceConfig SettingsOf(ServiceConfig c) {
  c.checks.clear();
  c.notify.reset();
  c.location = {};
  return c;
}

SupervisorConfig Placeless(SupervisorConfig c) {
  c.location = {};
  c.restart_location = {};
  c.start_location = {};
  c.systemctl_location = {};
  return c;
}

NotifyTargetConfig Placeless(NotifyTargetConfig c) {
  c.location = {};
  if (auto* command = std::get_if<CommandTargetConfig>(&c.kind)) {
    command->argv0_location = {};
  }
  return c;
}

}  // namespace

bool SameCheck(const CheckConfig& a, const CheckConfig& b) {
  return Placeless(a) == Placeless(b);
}

bool SameService(const ServiceConfig& a, const ServiceConfig& b) {
  if (a.checks.size() != b.checks.size()) return false;
  for (size_t i = 0; i < a.checks.size(); ++i) {
    if (!SameCheck(a.checks[i], b.checks[i])) return false;
  }
  return a.notify == b.notify && SameServiceSettings(a, b);
}

bool SameServiceSettings(const ServiceConfig& a, const ServiceConfig& b) {
  return SettingsOf(a) == SettingsOf(b);
}

bool SameSupervisor(const SupervisorConfig& a, const SupervisorConfig& b) {
  return Placeless(a) == Placeless(b);
}

bool SameNotifyTarget(const NotifyTargetConfig& a,
                      const NotifyTargetConfig& b) {
  return Placeless(a) == Placeless(b);
}

}  // namespace watchd
