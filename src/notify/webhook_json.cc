#include "notify/webhook_json.h"

#include <nlohmann/json.hpp>

namespace watchd {
namespace {

// Fields that do not apply (a daemon event has no service) are null, so
// receivers can tell "none" from an empty value.
nlohmann::json OrNull(const std::string& value) {
  return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
}

nlohmann::json ToJson(const Notification& n) {
  return {{"event", NotifyEventName(n.event)},
          {"service", OrNull(n.service)},
          {"state", OrNull(n.state)},
          {"previous_state", OrNull(n.previous_state)},
          {"reason", n.reason},
          {"check", OrNull(n.check)},
          {"time", NotificationTime(n.time)},
          {"host", n.host},
          {"reminder", n.reminder}};
}

}  // namespace

std::string WebhookBody(const std::vector<Notification>& batch) {
  // Reasons come from the network and from files: invalid UTF-8 is
  // replaced rather than failing the whole message.
  constexpr auto kReplace = nlohmann::json::error_handler_t::replace;
  if (batch.size() == 1)
    return ToJson(batch.front()).dump(-1, ' ', false, kReplace);
  nlohmann::json array = nlohmann::json::array();
  for (const Notification& n : batch) array.push_back(ToJson(n));
  return array.dump(-1, ' ', false, kReplace);
}

}  // namespace watchd
