// What a reload compares: whether two definitions say the same thing,
// wherever in the files they are written (a check moved down a line, or
// into an included file, is the same check).
#ifndef WATCHD_CONFIG_CONFIG_DIFF_H_
#define WATCHD_CONFIG_CONFIG_DIFF_H_

#include "config/config.h"

namespace watchd {

bool SameCheck(const CheckConfig& a, const CheckConfig& b);
// The service's own settings: all but its checks and its `notify:` list,
// which a reload applies without rebuilding the service.
bool SameServiceSettings(const ServiceConfig& a, const ServiceConfig& b);
// Everything: settings, `notify:` and the checks in their order.
bool SameService(const ServiceConfig& a, const ServiceConfig& b);
bool SameSupervisor(const SupervisorConfig& a, const SupervisorConfig& b);
bool SameNotifyTarget(const NotifyTargetConfig& a, const NotifyTargetConfig& b);

}  // namespace watchd

#endif  // WATCHD_CONFIG_CONFIG_DIFF_H_
