// How watchctl shows the daemon's status replies to a person: a block per
// service (status) or an aligned line per service (summary), in the order
// the daemon sent them (unhealthy first), coloured only when asked (a TTY).
#ifndef WATCHD_WATCHCTL_RENDER_H_
#define WATCHD_WATCHCTL_RENDER_H_

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace watchd {

struct RenderOptions {
  bool color = false;
  // "Now" for "3m ago"; the wall clock of the reader.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

std::string RenderSummary(const nlohmann::json& services,
                          const RenderOptions& options);
std::string RenderStatus(const nlohmann::json& services,
                         const RenderOptions& options);

// Seconds since an RFC 3339 UTC time ("...Z"); nullopt if unreadable.
std::optional<double> SecondsSince(const std::string& rfc3339,
                                   std::chrono::system_clock::time_point now);

}  // namespace watchd

#endif  // WATCHD_WATCHCTL_RENDER_H_
