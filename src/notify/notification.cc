#include "notify/notification.h"

#include <time.h>

#include <cstdio>

namespace watchd {

std::string NotificationTime(SystemTime time) {
  using std::chrono::milliseconds;
  auto since_epoch =
      std::chrono::floor<milliseconds>(time.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(since_epoch / 1000);
  int millis = static_cast<int>(since_epoch % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char out[64];
  snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, millis);
  return out;
}

std::string FieldValue(const Notification& n, std::string_view field) {
  if (field == "event") return NotifyEventName(n.event);
  if (field == "service") return n.service;
  if (field == "state") return n.state;
  if (field == "previous_state") return n.previous_state;
  if (field == "reason") return n.reason;
  if (field == "check") return n.check;
  if (field == "time") return NotificationTime(n.time);
  if (field == "host") return n.host;
  return "";
}

}  // namespace watchd
