#include "metrics/metrics.h"

#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <iterator>
#include <utility>

#include "metrics/listen_address.h"
#include "metrics/series.h"
#include "metrics/series_collector.h"

namespace watchd {

static_assert(std::size(kProbeResultNames) ==
              static_cast<size_t>(ProbeOutcomeLabel::kError) + 1);

Metrics::Metrics(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      series_(std::make_shared<SeriesCollector>()) {
  prometheus::BuildGauge()
      .Name("watchd_build_info")
      .Help("Build of the running watchd: always 1, the build in labels.")
      .Register(*registry_)
      .Add({{"version", version}})
      .Set(1);
  // Fine at the low end: a healthy loop starts probes within a millisecond.
  lateness_ = &prometheus::BuildHistogram()
                   .Name("watchd_scheduler_lateness_seconds")
                   .Help(
                       "How late probes started after their scheduled time, in "
                       "seconds.")
                   .Register(*registry_)
                   .Add({}, prometheus::Histogram::BucketBoundaries{
                                .0001, .0005, .001, .002, .005, .01, .025, .05,
                                .1, .25, .5, 1});
  reload_successful_ =
      &prometheus::BuildGauge()
           .Name("watchd_config_last_reload_successful")
           .Help(
               "Whether the last configuration load succeeded (1) or not "
               "(0).")
           .Register(*registry_)
           .Add({});
  reload_timestamp_family_ =
      &prometheus::BuildGauge()
           .Name("watchd_config_last_reload_success_timestamp_seconds")
           .Help(
               "Time of the last successful configuration load, in unix "
               "seconds.")
           .Register(*registry_);
}

Metrics::~Metrics() = default;

Result<std::unique_ptr<Metrics>> Metrics::Create(const std::string& listen,
                                                 const std::string& version) {
  std::unique_ptr<Metrics> metrics;
  try {
    metrics.reset(new Metrics(version));
  } catch (const std::exception& e) {
    return Status::Error(std::string("metrics: ") + e.what());
  }
  if (!listen.empty()) {
    Status status = metrics->Listen(listen);
    if (!status.ok()) return status;
  }
  return metrics;
}

Status Metrics::Listen(const std::string& listen) {
  Result<ListenAddress> address = ParseListenAddress(listen);
  if (!address.ok()) return address.status();
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", address->ToCivetweb(), "num_threads", "2"});
    exposer_->RegisterCollectable(registry_);
    exposer_->RegisterCollectable(series_);
  } catch (const std::exception& e) {
    exposer_.reset();
    // civetweb only says "null context": find the reason ourselves.
    std::string why = e.what();
    if (Status bind = CheckBindable(*address); !bind.ok()) {
      why = bind.message();
    } else if (address->ipv6) {
      why = "this civetweb build cannot bind IPv6 addresses";
    }
    return Status::Error("metrics: cannot listen on " + listen + ": " + why);
  }
  return Status::Ok();
}

std::vector<int> Metrics::listening_ports() const {
  if (!exposer_) return {};
  return exposer_->GetListeningPorts();
}

std::string Metrics::Serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::vector<prometheus::MetricFamily> series = series_->Collect();
  families.insert(families.end(), std::make_move_iterator(series.begin()),
                  std::make_move_iterator(series.end()));
  return prometheus::TextSerializer().Serialize(families);
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

void Metrics::ObserveLateness(double seconds) { lateness_->Observe(seconds); }

void Metrics::SetConfigReloadSuccessful(bool ok) {
  reload_successful_->Set(ok ? 1 : 0);
  if (!ok) return;
  if (reload_timestamp_ == nullptr) {
    reload_timestamp_ = &reload_timestamp_family_->Add({});
  }
  reload_timestamp_->SetToCurrentTime();
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

}  // namespace watchd
