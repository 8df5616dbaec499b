#include "metrics/series_collector.h"

#include <iterator>
#include <optional>
#include <vector>

#include "metrics/text_writer.h"

namespace watchd {
namespace {

// Visits the series of `map` in key order, `chunk` at a time: the lock is
// held only to copy pointers. The last series visited is kept alive, so
// that its key (views of its names) can find where the next chunk starts
// even if it was removed meanwhile.
template <typename Series, typename Map, typename KeyOf>
void ForEachIn(std::mutex& mu, const Map& map, KeyOf key_of,
               const std::function<bool(const Series&)>& fn) {
  std::vector<std::shared_ptr<const Series>> chunk;
  chunk.reserve(SeriesCollector::kChunk);
  std::shared_ptr<const Series> last;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = last ? map.upper_bound(key_of(*last)) : map.begin();
      for (; it != map.end() && chunk.size() < SeriesCollector::kChunk; ++it) {
        chunk.push_back(it->second);
      }
    }
    if (chunk.empty()) return;
    for (const auto& series : chunk) {
      if (!fn(*series)) return;
    }
    last = std::move(chunk.back());
    chunk.clear();
  }
}

void WriteCheckFamilies(const SeriesCollector& collector, TextWriter& w) {
  auto for_each = [&](const std::function<void(const CheckSeries&)>& fn) {
    collector.ForEachCheck([&](const CheckSeries& c) {
      fn(c);
      return w.ok();
    });
  };
  // A gauge family of the checks whose `cell` has been set.
  auto gauges = [&](std::string_view name, std::string_view help,
                    OptionalGaugeCell CheckSeries::*cell) {
    w.Family(name, help, MetricType::kGauge);
    for_each([&](const CheckSeries& c) {
      if (std::optional<double> value = (c.*cell).value()) {
        w.Sample({{"service", c.service}, {"check", c.check}}, *value);
      }
    });
  };

  w.Family("watchd_check_up",
           "Whether the check is passing (1) or failing or pending (0).",
           MetricType::kGauge);
  for_each([&](const CheckSeries& c) {
    w.Sample({{"service", c.service},
              {"check", c.check},
              {"kind", *c.kind.load(std::memory_order_acquire)}},
             c.up.value());
  });

  gauges("watchd_probe_success",
         "Whether the last probe of the check succeeded (1) or not (0).",
         &CheckSeries::success);

  w.Family("watchd_probe_duration_seconds",
           "Duration of the probes of the check, in seconds.",
           MetricType::kHistogram);
  for_each([&](const CheckSeries& c) {
    auto snapshot = c.duration.Read();
    const MetricLabel labels[] = {{"service", c.service}, {"check", c.check}};
    w.Histogram(labels, c.duration.bounds(), snapshot.cumulative, snapshot.sum);
  });

  w.Family("watchd_probes_total", "Probes run by the check, by result.",
           MetricType::kCounter);
  for_each([&](const CheckSeries& c) {
    for (size_t i = 0; i < std::size(kProbeResultNames); ++i) {
      w.Sample({{"service", c.service},
                {"check", c.check},
                {"result", kProbeResultNames[i]}},
               c.probes[i].value());
    }
  });

  gauges("watchd_probe_http_status_code",
         "HTTP status code of the last response to the check.",
         &CheckSeries::http_status);
  gauges("watchd_probe_dns_lookup_time_seconds",
         "Duration of the last DNS lookup of the check, in seconds.",
         &CheckSeries::dns_lookup_seconds);
  gauges("watchd_probe_ssl_earliest_cert_expiry_timestamp_seconds",
         "Expiry of the earliest-expiring certificate the check was last "
         "served, in unix seconds.",
         &CheckSeries::ssl_earliest_cert_expiry);
}

void WriteServiceFamilies(const SeriesCollector& collector, TextWriter& w) {
  auto for_each = [&](const std::function<void(const ServiceSeries&)>& fn) {
    collector.ForEachService([&](const ServiceSeries& s) {
      fn(s);
      return w.ok();
    });
  };

  w.Family("watchd_service_state",
           "State of the service: 1 for its current state, 0 for the others.",
           MetricType::kGauge);
  for_each([&](const ServiceSeries& s) {
    int current = s.state.load(std::memory_order_relaxed);
    for (size_t i = 0; i < std::size(kServiceStateNames); ++i) {
      w.Sample({{"service", s.service}, {"state", kServiceStateNames[i]}},
               static_cast<int>(i) == current ? 1.0 : 0.0);
    }
  });

  w.Family("watchd_restarts_total",
           "Restarts of the service watchd asked for, by reason.",
           MetricType::kCounter);
  for_each([&](const ServiceSeries& s) {
    for (const RestartReasonSeries* r =
             s.reasons.load(std::memory_order_acquire);
         r != nullptr; r = r->next) {
      w.Sample({{"service", s.service}, {"reason", r->reason}},
               r->restarts.value());
    }
  });

  w.Family("watchd_restart_failures_total",
           "Restarts of the service that failed.", MetricType::kCounter);
  for_each([&](const ServiceSeries& s) {
    w.Sample({{"service", s.service}}, s.restart_failures.value());
  });

  w.Family("watchd_process_resident_memory_bytes",
           "Resident memory of the process of the service, in bytes.",
           MetricType::kGauge);
  for_each([&](const ServiceSeries& s) {
    if (std::optional<double> bytes = s.resident_memory_bytes.value()) {
      w.Sample({{"service", s.service}}, *bytes);
    }
  });
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

void SeriesCollector::ForEachCheck(
    const std::function<bool(const CheckSeries&)>& fn) const {
  ForEachIn<CheckSeries>(
      mu_, checks_,
      [](const CheckSeries& c) { return CheckKey(c.service, c.check); }, fn);
}

void SeriesCollector::ForEachService(
    const std::function<bool(const ServiceSeries&)>& fn) const {
  ForEachIn<ServiceSeries>(
      mu_, services_,
      [](const ServiceSeries& s) { return std::string_view(s.service); }, fn);
}

void SeriesCollector::Write(TextWriter& writer) const {
  WriteCheckFamilies(*this, writer);
  WriteServiceFamilies(*this, writer);
}

}  // namespace watchd
