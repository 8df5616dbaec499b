#include "daemon/status_json.h"

#include <time.h>

#include <cstdio>

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
  w->String(clock.Format(check.since()));
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
    w->String(clock.Format(check.last_at()));
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
  w->String(clock.Format(service.since()));
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

std::string StatusClock::Format(TimePoint t) const {
  return FormatRfc3339(
      wall_ - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  mono_ - t));
}

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      t.time_since_epoch())
                      .count();
  time_t secs = static_cast<time_t>(ms / 1000);
  long frac = static_cast<long>(ms % 1000);
  if (frac < 0) {
    frac += 1000;
    --secs;
  }
  tm utc{};
  gmtime_r(&secs, &utc);
  char buf[64];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
           utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
           utc.tm_min, utc.tm_sec, frac);
  return buf;
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
    w->String(clock.Format(restarts.next_allowed));
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
