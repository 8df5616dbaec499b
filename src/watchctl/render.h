// How watchctl shows the daemon's status replies to a person: a block per
// service (status) or an aligned line per service (summary), unhealthy
// first, coloured only when asked (a TTY).
#ifndef WATCHD_WATCHCTL_RENDER_H_
#define WATCHD_WATCHCTL_RENDER_H_

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

namespace watchd {

struct RenderOptions {
  bool color = false;
  // "Now" for "3m ago"; the wall clock of the reader.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// Orders services (a JSON array of status or summary objects) worst state
// first, then by name.
void SortUnhealthyFirst(nlohmann::json* services);
// Whether every service is ok (watchctl's exit 0; else 3).
bool AllOk(const nlohmann::json& services);

std::string RenderSummary(const nlohmann::json& services,
                          const RenderOptions& options);
std::string RenderStatus(const nlohmann::json& services,
                         const RenderOptions& options);

// "45s", "3m12s", "2h5m", "3d4h": the two largest units.
std::string HumanDuration(double seconds);
// Seconds since an RFC 3339 UTC time ("...Z"); nullopt if unreadable.
std::optional<double> SecondsSince(const std::string& rfc3339,
                                   std::chrono::system_clock::time_point now);
// "12.3 MiB".
std::string HumanBytes(double bytes);

}  // namespace watchd

#endif  // WATCHD_WATCHCTL_RENDER_H_
