#include "metrics/metrics.h"

#include <ctime>
#include <iterator>
#include <utility>

#include "metrics/listen_address.h"
#include "metrics/scrape_server.h"
#include "metrics/series.h"
#include "metrics/series_collector.h"
#include "metrics/text_writer.h"

namespace watchd {
namespace {

static_assert(std::size(kProbeResultNames) ==
              static_cast<size_t>(ProbeOutcomeLabel::kError) + 1);
static_assert(std::size(kNotifyResultNames) ==
              static_cast<size_t>(NotifyResultLabel::kFailed) + 1);

void WriteNotifyFamilies(const ProcessSeries& process, TextWriter& w) {
  const NotifyTargetSeries* head =
      process.notify_targets.load(std::memory_order_acquire);
  if (head == nullptr) return;
  w.Family("watchd_notifications_total",
           "Notifications by target and result: sent, or failed after "
           "every retry.",
           MetricType::kCounter);
  for (const NotifyTargetSeries* t = head; t != nullptr; t = t->next) {
    for (size_t i = 0; i < std::size(kNotifyResultNames); ++i) {
      w.Sample({{"target", t->target}, {"result", kNotifyResultNames[i]}},
               t->notifications[i].value());
    }
  }
  w.Family("watchd_notifications_dropped_total",
           "Notifications dropped because the target's queue was full.",
           MetricType::kCounter);
  for (const NotifyTargetSeries* t = head; t != nullptr; t = t->next) {
    w.Sample({{"target", t->target}}, t->dropped.value());
  }
}

void WriteProcessFamilies(const ProcessSeries& process, TextWriter& w) {
  w.Family("watchd_build_info",
           "Build of the running watchd: always 1, the build in labels.",
           MetricType::kGauge);
  w.Sample({{"version", process.version}}, 1.0);

  w.Family("watchd_scheduler_lateness_seconds",
           "How late probes started after their scheduled time, in seconds.",
           MetricType::kHistogram);
  auto lateness = process.lateness.Read();
  w.Histogram({}, process.lateness.bounds(), lateness.cumulative, lateness.sum);

  w.Family("watchd_config_last_reload_successful",
           "Whether the last configuration load succeeded (1) or not (0).",
           MetricType::kGauge);
  w.Sample({}, process.reload_successful.value());

  w.Family("watchd_config_last_reload_success_timestamp_seconds",
           "Time of the last successful configuration load, in unix seconds.",
           MetricType::kGauge);
  if (std::optional<double> stamp = process.reload_timestamp.value()) {
    w.Sample({}, *stamp);
  }

  WriteNotifyFamilies(process, w);
}

void WriteAll(const ProcessSeries& process, const SeriesCollector& series,
              TextWriter& w) {
  WriteProcessFamilies(process, w);
  series.Write(w);
}

}  // namespace

Metrics::Metrics(const std::string& version)
    : process_(std::make_unique<ProcessSeries>(version)),
      series_(std::make_unique<SeriesCollector>()) {}

Metrics::~Metrics() = default;

Result<std::unique_ptr<Metrics>> Metrics::Create(
    const std::string& listen, const std::string& version,
    ScrapeServer::AskPage ask_page) {
  std::unique_ptr<Metrics> metrics(new Metrics(version));
  if (!listen.empty()) {
    Status status = metrics->Listen(listen, std::move(ask_page));
    if (!status.ok()) return status;
  }
  return metrics;
}

Status Metrics::Listen(const std::string& listen,
                       ScrapeServer::AskPage ask_page) {
  Result<ListenAddress> address = ParseListenAddress(listen);
  if (!address.ok()) return address.status();
  Result<int> fd = OpenListener(*address);
  if (!fd.ok()) {
    return Status::Error("metrics: cannot listen on " + listen + ": " +
                         fd.status().message());
  }
  Result<std::unique_ptr<ScrapeServer>> server = ScrapeServer::Start(
      *fd,
      [process = process_.get(), series = series_.get()](TextWriter& w) {
        WriteAll(*process, *series, w);
      },
      ScrapeServerOptions(), std::move(ask_page));
  if (!server.ok()) {
    return Status::Error("metrics: cannot serve on " + listen + ": " +
                         server.status().message());
  }
  server_ = std::move(server).value();
  return Status::Ok();
}

std::vector<int> Metrics::listening_ports() const {
  if (!server_) return {};
  return {server_->port()};
}

std::string Metrics::Serialize() const {
  std::string text;
  TextWriter writer([&text](std::string_view piece) {
    text.append(piece);
    return true;
  });
  WriteAll(*process_, *series_, writer);
  writer.Flush();
  return text;
}

Metrics::CheckHandle* Metrics::AddCheck(const std::string& service,
                                        const std::string& check,
                                        const std::string& kind) {
  return series_->AddCheck(service, check, kind);
}

void Metrics::RemoveCheck(CheckHandle* check) { series_->RemoveCheck(check); }

void Metrics::ObserveProbe(CheckHandle* check, ProbeOutcomeLabel result,
                           double duration_seconds,
                           const ProbeDetails& details) {
  check->probes[static_cast<size_t>(result)].Increment();
  check->duration.Observe(duration_seconds);
  check->success.Set(result == ProbeOutcomeLabel::kSuccess ? 1 : 0);
  if (details.http_status) check->http_status.Set(*details.http_status);
  if (details.dns_lookup_seconds) {
    check->dns_lookup_seconds.Set(*details.dns_lookup_seconds);
  }
  if (details.ssl_earliest_cert_expiry) {
    check->ssl_earliest_cert_expiry.Set(*details.ssl_earliest_cert_expiry);
  }
}

void Metrics::SetCheckUp(CheckHandle* check, bool up) {
  check->up.Set(up ? 1 : 0);
}

void Metrics::ObserveLateness(double seconds) {
  process_->lateness.Observe(seconds);
}

void Metrics::SetConfigReloadSuccessful(bool ok) {
  process_->reload_successful.Set(ok ? 1 : 0);
  if (ok)
    process_->reload_timestamp.Set(static_cast<double>(std::time(nullptr)));
}

Metrics::ServiceHandle* Metrics::AddService(const std::string& service) {
  return series_->AddService(service);
}

void Metrics::RemoveService(ServiceHandle* service) {
  series_->RemoveService(service);
}

bool Metrics::SetServiceState(ServiceHandle* service, std::string_view state) {
  for (size_t i = 0; i < std::size(kServiceStateNames); ++i) {
    if (state == kServiceStateNames[i]) {
      service->state.store(static_cast<int>(i), std::memory_order_relaxed);
      return true;
    }
  }
  return false;
}

void Metrics::IncRestart(ServiceHandle* service, const std::string& reason) {
  service->Restarts(reason).Increment();
}

void Metrics::IncRestartFailure(ServiceHandle* service) {
  service->restart_failures.Increment();
}

void Metrics::SetResidentMemory(ServiceHandle* service, double bytes) {
  service->resident_memory_bytes.Set(bytes);
}

Metrics::NotifyTargetHandle* Metrics::AddNotifyTarget(
    const std::string& target) {
  return process_->NotifyTarget(target);
}

void Metrics::CountNotifications(NotifyTargetHandle* target,
                                 NotifyResultLabel result, uint64_t count) {
  target->notifications[static_cast<size_t>(result)].Add(count);
}

void Metrics::CountNotificationsDropped(NotifyTargetHandle* target,
                                        uint64_t count) {
  target->dropped.Add(count);
}

}  // namespace watchd
