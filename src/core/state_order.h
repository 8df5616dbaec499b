// The order services are shown in everywhere (watchctl, the status page,
// the control protocol's replies): the least healthy first.
#ifndef WATCHD_CORE_STATE_ORDER_H_
#define WATCHD_CORE_STATE_ORDER_H_

#include <string_view>

namespace watchd {

// The service states worst first, as docs/control.md lists them.
inline constexpr std::string_view kStatesWorstFirst[] = {
    "hung",    "dead",     "failing",     "restarting", "blocked",
    "unknown", "starting", "unmonitored", "ok"};

// A state's place in kStatesWorstFirst; a name it does not hold ranks
// with "unknown".
int StateSeverity(std::string_view state);

// Whether service (severity_a, name_a) is shown before (severity_b,
// name_b): worse state first, then by name.
inline bool ShownBefore(int severity_a, std::string_view name_a, int severity_b,
                        std::string_view name_b) {
  if (severity_a != severity_b) return severity_a < severity_b;
  return name_a < name_b;
}

}  // namespace watchd

#endif  // WATCHD_CORE_STATE_ORDER_H_
