#include "daemon/status_json.h"

#include "control/json_writer.h"
#include "health/service.h"
#include "os/procfs.h"

namespace watchd {
namespace {

void WriteCheck(JsonWriter* w, const Check& check, const StatusClock& clock) {
  w->BeginObject();
  w->Key("name");
  w->String(check.name());
  w->Key("kind");
  w->String(check.kind());
  w->Key("state");
  w->String(CheckStateName(check.state()));
  w->Key("since");
  w->String(clock.Format(check.since()).view());
  w->Key("on_failure");
  w->String(check.on_failure() == OnFailure::kRestart ? "restart" : "alert");
  w->Key("interval_seconds");
  w->Double(ToSeconds(check.interval()));
  w->Key("consecutive_failures");
  w->Int(check.consecutive_failures());
  w->Key("last");
  if (const auto& last = check.last_result()) {
    w->BeginObject();
    w->Key("result");
    w->String(ProbeOutcomeName(last->outcome));
    w->Key("reason");
    w->String(last->reason);
    w->Key("latency_seconds");
    w->Double(ToSeconds(check.last_duration()));
    w->Key("time");
    w->String(clock.Format(check.last_at()).view());
    w->EndObject();
  } else {
    w->Null();
  }
  w->EndObject();
}

// The fields a summary has; the caller closes the object.
void WriteSummaryFields(JsonWriter* w, const Service& service,
                        const StatusClock& clock) {
  w->BeginObject();
  w->Key("name");
  w->String(service.name());
  w->Key("state");
  w->String(ServiceStateName(service.state()));
  w->Key("reason");
  w->String(service.reason());
  w->Key("since");
  w->String(clock.Format(service.since()).view());
}

}  // namespace

const char* SupervisorTypeName(SupervisorType type) {
  switch (type) {
    case SupervisorType::kSupervisord:
      return "supervisord";
    case SupervisorType::kSystemd:
      return "systemd";
    case SupervisorType::kCommand:
      return "command";
  }
  return "command";
}

StatusClock::StatusClock(TimePoint mono_now,
                         std::chrono::system_clock::time_point wall)
    : mono_(mono_now), wall_(wall) {}

Rfc3339 StatusClock::Format(TimePoint t) const {
  return FormatRfc3339Fixed(
      wall_ - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  mono_ - t));
}

Rfc3339 FormatRfc3339Fixed(std::chrono::system_clock::time_point t) {
  // By hand rather than gmtime_r + snprintf, which were a third of a
  // 10,000-service status. Days to a civil date: Howard Hinnant's
  // civil_from_days, exact for the proleptic Gregorian calendar.
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         t.time_since_epoch())
                         .count();
  int64_t days = ms / 86'400'000;
  int64_t in_day = ms % 86'400'000;
  if (in_day < 0) {
    in_day += 86'400'000;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  Rfc3339 out;
  if (year < 0 || year > 9999) {
    out.size = 0;
    for (char c : std::string_view("0000-01-01T00:00:00.000Z")) {
      out.text[out.size++] = c;
    }
    return out;
  }
  char* p = out.text;
  const auto digits = [&p](int64_t v, int n) {
    for (int k = n - 1; k >= 0; --k) {
      p[k] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    p += n;
  };
  digits(year, 4);
  *p++ = '-';
  digits(month, 2);
  *p++ = '-';
  digits(day, 2);
  *p++ = 'T';
  digits(in_day / 3'600'000, 2);
  *p++ = ':';
  digits(in_day / 60'000 % 60, 2);
  *p++ = ':';
  digits(in_day / 1000 % 60, 2);
  *p++ = '.';
  digits(in_day % 1000, 3);
  *p++ = 'Z';
  out.size = static_cast<size_t>(p - out.text);
  return out;
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  return std::string(FormatRfc3339Fixed(t).view());
}

void WriteServiceSummary(JsonWriter* w, const Service& service,
                         const StatusClock& clock) {
  WriteSummaryFields(w, service, clock);
  w->EndObject();
}

void WriteServiceStatus(
    JsonWriter* w, const Service& service, const StatusClock& clock,
    const std::map<std::string, SupervisorConfig>& supervisors) {
  const ServiceConfig& config = service.config();
  WriteSummaryFields(w, service, clock);
  w->Key("since_seconds");
  w->Double(clock.SecondsSince(service.since()));
  w->Key("paused");
  w->Bool(service.paused());
  std::optional<ProcessIdentity> process = service.process();
  w->Key("pid");
  if (process) {
    w->Int(process->pid);
  } else {
    w->Null();
  }
  w->Key("uptime_seconds");
  if (process) {
    w->Double(ProcessUptimeSeconds(process->start_time));
  } else {
    w->Null();
  }
  w->Key("memory_bytes");
  Result<uint64_t> rss = process ? ReadRssBytes(process->pid)
                                 : Result<uint64_t>(Status::Error(""));
  if (rss.ok()) {
    w->Int(static_cast<int64_t>(*rss));
  } else {
    w->Null();
  }
  w->Key("supervisor");
  if (config.supervisor) {
    auto it = supervisors.find(*config.supervisor);
    w->BeginObject();
    w->Key("name");
    w->String(*config.supervisor);
    w->Key("type");
    w->String(it == supervisors.end() ? ""
                                      : SupervisorTypeName(it->second.type));
    w->Key("program");
    w->String(config.program);
    w->EndObject();
  } else {
    w->Null();
  }
  const Service::RestartInfo restarts = service.restart_info();
  w->Key("restarts");
  w->BeginObject();
  w->Key("total");
  w->Int(restarts.total);
  w->Key("recent");
  w->Int(restarts.recent);
  w->Key("limit");
  w->Int(config.restart_limit.max);
  w->Key("within_seconds");
  w->Double(ToSeconds(config.restart_limit.within));
  w->Key("in_flight");
  w->Bool(restarts.in_flight);
  w->Key("next_allowed");
  // Only a wait still ahead is news; a past one allows a restart now.
  if (restarts.next_allowed > clock.now()) {
    w->String(clock.Format(restarts.next_allowed).view());
  } else {
    w->Null();
  }
  w->EndObject();
  w->Key("depends_on");
  w->BeginArray();
  for (const std::string& d : config.depends_on) w->String(d);
  w->EndArray();
  w->Key("checks");
  w->BeginArray();
  for (const auto& check : service.checks()) WriteCheck(w, *check, clock);
  w->EndArray();
  w->EndObject();
}

}  // namespace watchd
