#include "metrics/series_collector.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

#include <iterator>
#include <optional>

namespace watchd {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Checks = std::vector<std::shared_ptr<const CheckSeries>>;
using Services = std::vector<std::shared_ptr<const ServiceSeries>>;

MetricFamily NewFamily(const char* name, const char* help, MetricType type,
                       size_t size) {
  MetricFamily family{name, help, type, {}};
  // Exact size: at 10,000 checks, vector growth slack would cost megabytes.
  family.metric.reserve(size);
  return family;
}

ClientMetric& AddMetric(MetricFamily& family,
                        std::vector<ClientMetric::Label> labels) {
  ClientMetric& metric = family.metric.emplace_back();
  metric.label = std::move(labels);
  return metric;
}

void Append(MetricFamily family, std::vector<MetricFamily>& out) {
  if (!family.metric.empty()) out.push_back(std::move(family));
}

std::vector<ClientMetric::Label> CheckLabels(const CheckSeries& c) {
  return {{"service", c.service}, {"check", c.check}};
}

// A gauge family of the checks whose `cell` has been set.
void AppendCheckGauges(const char* name, const char* help,
                       OptionalGaugeCell CheckSeries::*cell,
                       const Checks& checks, std::vector<MetricFamily>& out) {
  size_t size = 0;
  for (const auto& c : checks) size += ((*c).*cell).value().has_value();
  MetricFamily family = NewFamily(name, help, MetricType::Gauge, size);
  for (const auto& c : checks) {
    // One set since the first pass just grows the vector.
    if (std::optional<double> value = ((*c).*cell).value()) {
      AddMetric(family, CheckLabels(*c)).gauge.value = *value;
    }
  }
  Append(std::move(family), out);
}

void AppendCheckFamilies(const Checks& checks, std::vector<MetricFamily>& out) {
  MetricFamily up =
      NewFamily("watchd_check_up",
                "Whether the check is passing (1) or failing or pending (0).",
                MetricType::Gauge, checks.size());
  for (const auto& c : checks) {
    auto labels = CheckLabels(*c);
    labels.push_back({"kind", *c->kind.load(std::memory_order_acquire)});
    AddMetric(up, std::move(labels)).gauge.value = c->up.value();
  }
  Append(std::move(up), out);

  AppendCheckGauges("watchd_probe_success",
                    "Whether the last probe of the check succeeded (1) or "
                    "not (0).",
                    &CheckSeries::success, checks, out);

  MetricFamily duration =
      NewFamily("watchd_probe_duration_seconds",
                "Duration of the probes of the check, in seconds.",
                MetricType::Histogram, checks.size());
  for (const auto& c : checks) {
    AddMetric(duration, CheckLabels(*c)).histogram = c->duration.Collect();
  }
  Append(std::move(duration), out);

  MetricFamily total = NewFamily(
      "watchd_probes_total", "Probes run by the check, by result.",
      MetricType::Counter, checks.size() * std::size(kProbeResultNames));
  for (const auto& c : checks) {
    for (size_t i = 0; i < std::size(kProbeResultNames); ++i) {
      auto labels = CheckLabels(*c);
      labels.push_back({"result", kProbeResultNames[i]});
      AddMetric(total, std::move(labels)).counter.value =
          static_cast<double>(c->probes[i].value());
    }
  }
  Append(std::move(total), out);

  AppendCheckGauges("watchd_probe_http_status_code",
                    "HTTP status code of the last response to the check.",
                    &CheckSeries::http_status, checks, out);
  AppendCheckGauges("watchd_probe_dns_lookup_time_seconds",
                    "Duration of the last DNS lookup of the check, in seconds.",
                    &CheckSeries::dns_lookup_seconds, checks, out);
  AppendCheckGauges("watchd_probe_ssl_earliest_cert_expiry_timestamp_seconds",
                    "Expiry of the earliest-expiring certificate the check was "
                    "last served, in unix seconds.",
                    &CheckSeries::ssl_earliest_cert_expiry, checks, out);
}

void AppendServiceFamilies(const Services& services,
                           std::vector<MetricFamily>& out) {
  MetricFamily state = NewFamily(
      "watchd_service_state",
      "State of the service: 1 for its current state, 0 for the others.",
      MetricType::Gauge, services.size() * std::size(kServiceStateNames));
  for (const auto& s : services) {
    int current = s->state.load(std::memory_order_relaxed);
    for (size_t i = 0; i < std::size(kServiceStateNames); ++i) {
      AddMetric(state,
                {{"service", s->service}, {"state", kServiceStateNames[i]}})
          .gauge.value = static_cast<int>(i) == current ? 1 : 0;
    }
  }
  Append(std::move(state), out);

  MetricFamily restarts =
      NewFamily("watchd_restarts_total",
                "Restarts of the service watchd asked for, by reason.",
                MetricType::Counter, 0);
  for (const auto& s : services) {
    for (const RestartReasonSeries* r =
             s->reasons.load(std::memory_order_acquire);
         r != nullptr; r = r->next) {
      AddMetric(restarts, {{"service", s->service}, {"reason", r->reason}})
          .counter.value = static_cast<double>(r->restarts.value());
    }
  }
  Append(std::move(restarts), out);

  MetricFamily failures = NewFamily("watchd_restart_failures_total",
                                    "Restarts of the service that failed.",
                                    MetricType::Counter, services.size());
  for (const auto& s : services) {
    AddMetric(failures, {{"service", s->service}}).counter.value =
        static_cast<double>(s->restart_failures.value());
  }
  Append(std::move(failures), out);

  MetricFamily memory =
      NewFamily("watchd_process_resident_memory_bytes",
                "Resident memory of the process of the service, in bytes.",
                MetricType::Gauge, 0);
  for (const auto& s : services) {
    if (std::optional<double> bytes = s->resident_memory_bytes.value()) {
      AddMetric(memory, {{"service", s->service}}).gauge.value = *bytes;
    }
  }
  Append(std::move(memory), out);
}

}  // namespace

CheckSeries* SeriesCollector::AddCheck(const std::string& service,
                                       const std::string& check,
                                       const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string* interned = &*kinds_.insert(kind).first;
  auto it = checks_.find(CheckKey(service, check));
  if (it != checks_.end()) {
    ++it->second->refs;
    it->second->kind.store(interned, std::memory_order_release);
    return it->second.get();
  }
  auto series = std::make_shared<CheckSeries>(service, check, interned);
  CheckKey key(series->service, series->check);
  return checks_.emplace(key, std::move(series)).first->second.get();
}

void SeriesCollector::RemoveCheck(CheckSeries* check) {
  std::lock_guard<std::mutex> lock(mu_);
  if (--check->refs == 0) {
    checks_.erase(checks_.find(CheckKey(check->service, check->check)));
  }
}

ServiceSeries* SeriesCollector::AddService(const std::string& service) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = services_.find(service);
  if (it != services_.end()) {
    ++it->second->refs;
    return it->second.get();
  }
  auto series = std::make_shared<ServiceSeries>(service);
  std::string_view key = series->service;
  return services_.emplace(key, std::move(series)).first->second.get();
}

void SeriesCollector::RemoveService(ServiceSeries* service) {
  std::lock_guard<std::mutex> lock(mu_);
  if (--service->refs == 0) services_.erase(services_.find(service->service));
}

std::vector<MetricFamily> SeriesCollector::Collect() const {
  Checks checks;
  Services services;
  {
    std::lock_guard<std::mutex> lock(mu_);
    checks.reserve(checks_.size());
    for (const auto& [key, series] : checks_) checks.push_back(series);
    services.reserve(services_.size());
    for (const auto& [key, series] : services_) services.push_back(series);
  }
  std::vector<MetricFamily> out;
  AppendCheckFamilies(checks, out);
  AppendServiceFamilies(services, out);
  return out;
}

}  // namespace watchd
