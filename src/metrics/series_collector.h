// SeriesCollector: the per-check and per-service series of watchd, served
// to scrapes as a prometheus Collectable. Unlike a prometheus::Family it
// adds and removes a series in O(log n) and stores only its cells.
#ifndef WATCHD_METRICS_SERIES_COLLECTOR_H_
#define WATCHD_METRICS_SERIES_COLLECTOR_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/series.h"

namespace watchd {

// Add and Remove belong to one thread; Collect may run on any thread, and
// holds the lock only to snapshot the series, so an Add or Remove never
// waits for a whole scrape.
class SeriesCollector : public prometheus::Collectable {
 public:
  // Adding a name already present returns its series with one more
  // reference (for a check, with `kind` as its new kind label).
  CheckSeries* AddCheck(const std::string& service, const std::string& check,
                        const std::string& kind);
  // Drops a reference; the last one removes the series from scrapes (one in
  // flight may still read it: it is freed after).
  void RemoveCheck(CheckSeries* check);
  ServiceSeries* AddService(const std::string& service);
  void RemoveService(ServiceSeries* service);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  using CheckKey = std::pair<std::string_view, std::string_view>;

  mutable std::mutex mu_;
  // Keys view the names inside their series.
  std::map<CheckKey, std::shared_ptr<CheckSeries>> checks_;
  std::map<std::string_view, std::shared_ptr<ServiceSeries>> services_;
  // Kind labels, interned: a few distinct values, read by scrapes unlocked.
  std::set<std::string, std::less<>> kinds_;
};

}  // namespace watchd

#endif  // WATCHD_METRICS_SERIES_COLLECTOR_H_
