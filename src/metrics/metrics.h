// Metrics: watchd's Prometheus series (SPEC.md, Metrics), served over HTTP
// at /metrics by a ScrapeServer on threads of its own. All calls come from
// one thread (the event loop). A probe result costs a few atomic adds
// through a handle made with its check, no lock and no allocation; Add and
// Remove lock only against a scrape's copying of a chunk of series
// pointers.
#ifndef WATCHD_METRICS_METRICS_H_
#define WATCHD_METRICS_METRICS_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "metrics/scrape_server.h"

namespace watchd {

struct CheckSeries;
struct NotifyTargetSeries;
struct ProcessSeries;
struct ServiceSeries;
class SeriesCollector;

// The `result` label of watchd_probes_total, in ProbeOutcome's order.
enum class ProbeOutcomeLabel { kSuccess, kFailure, kTimeout, kError };
// The `result` label of watchd_notifications_total: delivered, or given up
// on after every retry.
enum class NotifyResultLabel { kSent, kFailed };

// Kind-specific observations of one probe run. A check exports each one
// from its first observation on (never a made-up 0 before).
struct ProbeDetails {
  std::optional<int> http_status;
  std::optional<double> dns_lookup_seconds;
  std::optional<double> ssl_earliest_cert_expiry;  // unix seconds
};

class Metrics {
 public:
  using CheckHandle = CheckSeries;
  using ServiceHandle = ServiceSeries;
  using NotifyTargetHandle = NotifyTargetSeries;

  // `listen`: "IPv4:PORT" (port 0 picks a free one), "localhost:PORT" or
  // "[IPv6]:PORT"; "" serves nothing (Serialize() still works). An address
  // that cannot be bound is an error naming it and the reason. Threads
  // start here: block the signals the daemon takes by signalfd first.
  // `ask_page` serves the status page at / (see ScrapeServer::AskPage).
  static Result<std::unique_ptr<Metrics>> Create(
      const std::string& listen, const std::string& version,
      ScrapeServer::AskPage ask_page = nullptr);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The bound TCP ports; empty when not serving.
  std::vector<int> listening_ports() const;
  // The text exposition, exactly as /metrics serves it.
  std::string Serialize() const;

  // Creates the series of one check. Adding a (service, check) already
  // present returns its handle again (with `kind` as its new label), whose
  // series stay until each AddCheck is matched by a RemoveCheck: a reload
  // may add a check's successor before removing it.
  CheckHandle* AddCheck(const std::string& service, const std::string& check,
                        const std::string& kind);
  // The last reference removes the check's series and the handle.
  void RemoveCheck(CheckHandle* check);
  // One finished probe run.
  void ObserveProbe(CheckHandle* check, ProbeOutcomeLabel result,
                    double duration_seconds, const ProbeDetails& details);
  // The check's verdict: true passing, false failing or pending.
  void SetCheckUp(CheckHandle* check, bool up);

  // How late a probe started after its scheduled time.
  void ObserveLateness(double seconds);
  // The outcome of the latest config (re)load; a success also stamps the
  // time.
  void SetConfigReloadSuccessful(bool ok);

  // Service series, with the same reference counting as checks.
  ServiceHandle* AddService(const std::string& service);
  void RemoveService(ServiceHandle* service);
  // `state`: ok failing hung dead restarting starting unmonitored blocked
  // unknown.
  // Sets 1 for it and 0 for the others; returns false and changes nothing
  // for any other name. All are 0 until the first call.
  bool SetServiceState(ServiceHandle* service, std::string_view state);
  // Restarts are rare: a reason's series is made on its first restart.
  void IncRestart(ServiceHandle* service, const std::string& reason);
  void IncRestartFailure(ServiceHandle* service);
  // Exported from the first call on.
  void SetResidentMemory(ServiceHandle* service, double bytes);

  // The series of a notify target, exported from now on (at 0); adding a
  // name again returns the same handle. Kept for the process's life.
  NotifyTargetHandle* AddNotifyTarget(const std::string& target);
  // `count` notifications (the events in a message) delivered or failed.
  void CountNotifications(NotifyTargetHandle* target, NotifyResultLabel result,
                          uint64_t count);
  // Notifications dropped from a full queue.
  void CountNotificationsDropped(NotifyTargetHandle* target, uint64_t count);

 private:
  explicit Metrics(const std::string& version);
  Status Listen(const std::string& listen, ScrapeServer::AskPage ask_page);

  std::unique_ptr<ProcessSeries> process_;
  std::unique_ptr<SeriesCollector> series_;
  // Last: destroyed first, so no scrape outlives what it reads.
  std::unique_ptr<ScrapeServer> server_;
};

}  // namespace watchd

#endif  // WATCHD_METRICS_METRICS_H_
