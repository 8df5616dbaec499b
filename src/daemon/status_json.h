// What `watchctl status` and `watchctl summary` show, as the JSON of the
// control protocol (schema in docs/control.md).
#ifndef WATCHD_DAEMON_STATUS_JSON_H_
#define WATCHD_DAEMON_STATUS_JSON_H_

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/clock.h"

namespace watchd {

class JsonWriter;
class Service;

// An RFC 3339 time in UTC with milliseconds, "2026-12-06T16:26:33.123Z",
// in a buffer of its own: a status of 10,000 services writes 40,000 of them.
struct Rfc3339 {
  char text[32];
  size_t size;
  std::string_view view() const { return {text, size}; }
};
Rfc3339 FormatRfc3339Fixed(std::chrono::system_clock::time_point t);

// Turns loop times into wall-clock times for people.
class StatusClock {
 public:
  StatusClock(TimePoint mono_now, std::chrono::system_clock::time_point wall);
  Rfc3339 Format(TimePoint t) const;
  double SecondsSince(TimePoint t) const { return ToSeconds(mono_ - t); }
  TimePoint now() const { return mono_; }

 private:
  TimePoint mono_;
  std::chrono::system_clock::time_point wall_;
};

// RFC 3339 in UTC with milliseconds.
std::string FormatRfc3339(std::chrono::system_clock::time_point t);
// "supervisord", "systemd", "command".
const char* SupervisorTypeName(SupervisorType type);

// The whole block of one service, as one JSON object. `supervisors` names
// each supervisor's type.
void WriteServiceStatus(
    JsonWriter* w, const Service& service, const StatusClock& clock,
    const std::map<std::string, SupervisorConfig>& supervisors);
// Its one line: name, state, reason, since.
void WriteServiceSummary(JsonWriter* w, const Service& service,
                         const StatusClock& clock);

}  // namespace watchd

#endif  // WATCHD_DAEMON_STATUS_JSON_H_
