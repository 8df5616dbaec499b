// Value cells of single series: updated without locks or allocation, read
// at any time by scrapes on other threads. A few bytes each, where a
// prometheus::Histogram in a Family with its label map costs hundreds.
#ifndef WATCHD_METRICS_CELLS_H_
#define WATCHD_METRICS_CELLS_H_

#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <span>

namespace watchd {

class CounterCell {
 public:
  void Increment() { value_.fetch_add(1, std::memory_order_relaxed); }
  void Add(uint64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class GaugeCell {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A gauge that has no value (and is not exported) until first set.
class OptionalGaugeCell {
 public:
  // NaN unsets it.
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  std::optional<double> value() const {
    double v = value_.load(std::memory_order_relaxed);
    if (std::isnan(v)) return std::nullopt;
    return v;
  }

 private:
  std::atomic<double> value_{std::numeric_limits<double>::quiet_NaN()};
};

// A histogram over the fixed upper bounds kBounds (ascending), plus +Inf.
// Its count is the sum of its buckets, so a scrape never sees them disagree.
template <const auto& kBounds>
class HistogramCell {
 public:
  static constexpr size_t kBuckets = std::size(kBounds) + 1;

  // NaN is dropped: it belongs to no bucket and would poison the sum.
  void Observe(double value) {
    if (std::isnan(value)) return;
    size_t i = 0;
    while (i < kBuckets - 1 && value > kBounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  struct Snapshot {
    // Bucket i counts the observations up to kBounds[i]; the last, all.
    std::array<uint64_t, kBuckets> cumulative;
    double sum;
  };

  static constexpr std::span<const double> bounds() { return kBounds; }

  Snapshot Read() const {
    Snapshot s;
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      s.cumulative[i] = cumulative;
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<double> sum_{0};
};

}  // namespace watchd

#endif  // WATCHD_METRICS_CELLS_H_
