// SeriesCollector: the per-check and per-service series of watchd, and
// their text exposition. Unlike a prometheus::Family it adds and removes a
// series in O(log n), stores only its cells, and writes its families
// straight from them.
#ifndef WATCHD_METRICS_SERIES_COLLECTOR_H_
#define WATCHD_METRICS_SERIES_COLLECTOR_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/series.h"

namespace watchd {

class TextWriter;

// Add and Remove belong to one thread; Write and the ForEach calls may run
// on any thread, and hold the lock only to copy a chunk of series
// pointers, so an Add or Remove never waits for a whole scrape.
class SeriesCollector {
 public:
  // Series pointers copied under the lock per chunk.
  static constexpr size_t kChunk = 512;

  // Adding a name already present returns its series with one more
  // reference (for a check, with `kind` as its new kind label).
  CheckSeries* AddCheck(const std::string& service, const std::string& check,
                        const std::string& kind);
  // Drops a reference; the last one removes the series from scrapes (one in
  // flight may still read it: it is freed after).
  void RemoveCheck(CheckSeries* check);
  ServiceSeries* AddService(const std::string& service);
  void RemoveService(ServiceSeries* service);

  // Calls `fn` on each series in name order, until it returns false. A
  // series present throughout is visited once; one added or removed
  // meanwhile may be visited or not. `fn` may call Add and Remove.
  void ForEachCheck(const std::function<bool(const CheckSeries&)>& fn) const;
  void ForEachService(
      const std::function<bool(const ServiceSeries&)>& fn) const;

  // Every family of these series that has any, stopping early when the
  // writer fails.
  void Write(TextWriter& writer) const;

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
