// The series of one check and of one service (what Metrics hands out as
// CheckHandle and ServiceHandle), and those of the whole process. Names
// are fixed at creation; values are cells, updated by the event loop while
// scrapes read them.
#ifndef WATCHD_METRICS_SERIES_H_
#define WATCHD_METRICS_SERIES_H_

#include <array>
#include <atomic>
#include <iterator>
#include <string>
#include <utility>

#include "metrics/cells.h"

namespace watchd {

// Probe durations: milliseconds (local TCP) to a long timeout.
inline constexpr double kProbeDurationBounds[] = {
    .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
// Scheduler lateness: fine at the low end, where a healthy loop starts
// probes within a millisecond.
inline constexpr double kLatenessBounds[] = {
    .0001, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1};
// The `result` label values, in ProbeOutcomeLabel order.
inline constexpr const char* kProbeResultNames[] = {"success", "failure",
                                                    "timeout", "error"};
// The `result` label values of watchd_notifications_total.
inline constexpr const char* kNotifyResultNames[] = {"sent", "failed"};
// The `state` label values of watchd_service_state.
inline constexpr const char* kServiceStateNames[] = {
    "ok",       "failing",     "hung",    "dead",   "restarting",
    "starting", "unmonitored", "blocked", "unknown"};

struct CheckSeries {
  CheckSeries(std::string service, std::string check, const std::string* kind)
      : service(std::move(service)), check(std::move(check)), kind(kind) {}

  const std::string service;
  const std::string check;
  std::atomic<const std::string*> kind;  // interned, never freed
  int refs = 1;  // AddCheck calls not yet matched by RemoveCheck
  GaugeCell up;
  OptionalGaugeCell success;
  HistogramCell<kProbeDurationBounds> duration;
  std::array<CounterCell, std::size(kProbeResultNames)> probes;
  OptionalGaugeCell http_status;
  OptionalGaugeCell dns_lookup_seconds;
  OptionalGaugeCell ssl_earliest_cert_expiry;
};

struct RestartReasonSeries {
  const std::string reason;
  CounterCell restarts;
  RestartReasonSeries* const next;
};

struct ServiceSeries {
  explicit ServiceSeries(std::string service) : service(std::move(service)) {}
  ~ServiceSeries();
  ServiceSeries(const ServiceSeries&) = delete;
  ServiceSeries& operator=(const ServiceSeries&) = delete;

  // The counter of `reason`, created on first use. Updating thread only.
  CounterCell& Restarts(const std::string& reason);

  const std::string service;
  int refs = 1;
  std::atomic<int> state{-1};  // index in kServiceStateNames; -1: none yet
  CounterCell restart_failures;
  OptionalGaugeCell resident_memory_bytes;
  // A list only ever prepended to, so scrapes walk it without a lock.
  std::atomic<RestartReasonSeries*> reasons{nullptr};
};

// The notifications of one notify target.
struct NotifyTargetSeries {
  const std::string target;
  std::array<CounterCell, std::size(kNotifyResultNames)> notifications;
  CounterCell dropped;
  NotifyTargetSeries* const next;
};

struct ProcessSeries {
  explicit ProcessSeries(std::string version) : version(std::move(version)) {}
  ~ProcessSeries();
  ProcessSeries(const ProcessSeries&) = delete;
  ProcessSeries& operator=(const ProcessSeries&) = delete;

  // The series of `target`, created on first use. Updating thread only.
  NotifyTargetSeries* NotifyTarget(const std::string& target);

  const std::string version;  // of watchd_build_info
  HistogramCell<kLatenessBounds> lateness;
  GaugeCell reload_successful;
  OptionalGaugeCell reload_timestamp;  // from the first successful load
  // A list only ever prepended to, so scrapes walk it without a lock; a
  // target a reload removes keeps its counts.
  std::atomic<NotifyTargetSeries*> notify_targets{nullptr};
};

}  // namespace watchd

#endif  // WATCHD_METRICS_SERIES_H_
