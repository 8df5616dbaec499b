// One notification: an event of a service or of watchd itself, with the
// fields every target renders (docs/notifications.md).
#ifndef WATCHD_NOTIFY_NOTIFICATION_H_
#define WATCHD_NOTIFY_NOTIFICATION_H_

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.h"

namespace watchd {

using SystemTime = std::chrono::system_clock::time_point;

struct Notification {
  NotifyEvent event = NotifyEvent::kStarted;
  std::string service;         // "" for watchd's own events
  std::string state;           // the service's state; "" when none
  std::string previous_state;  // before a state change; "" otherwise
  std::string reason;
  std::string check;  // the check concerned; "" when none
  SystemTime time;
  std::string host;
  bool reminder = false;  // a repeat of an event that still holds
};

// The time of a notification as RFC 3339 in UTC with milliseconds:
// "2024-05-01T12:00:00.123Z".
std::string NotificationTime(SystemTime time);

// The value of kNotifyFields' `field` ("service", "time", ...); "" for a
// name that is none of them.
std::string FieldValue(const Notification& n, std::string_view field);

}  // namespace watchd

#endif  // WATCHD_NOTIFY_NOTIFICATION_H_
