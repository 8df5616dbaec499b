// A map from strings to values that expire, bounded in size. Expired
// entries are swept when the map has doubled since the last sweep, so the
// upkeep costs amortised O(1) per store however large the map grows (a sweep
// on every store past a fixed size cost O(n) each, O(n^2) for n names).
#ifndef WATCHD_NET_TTL_CACHE_H_
#define WATCHD_NET_TTL_CACHE_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace watchd {

template <typename Value>
class TtlCache {
 public:
  // The first sweep waits for this many entries: small maps are not swept.
  static constexpr size_t kMinSweep = 1024;

  // Holds at most `max_entries` (at least min_sweep).
  explicit TtlCache(size_t max_entries, size_t min_sweep = kMinSweep)
      : max_entries_(max_entries),
        min_sweep_(min_sweep),
        next_sweep_(min_sweep) {}

  // The value stored for `key` if it has not expired by `now`, else
  // nullptr (and an expired entry is dropped). Valid until the next Store.
  const Value* Find(const std::string& key, TimePoint now) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.expires <= now) {
      map_.erase(it);
      return nullptr;
    }
    return &it->second.value;
  }

  // Stores (or replaces) `key` until `expires`.
  void Store(const std::string& key, Value value, TimePoint expires,
             TimePoint now) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second = Entry{expires, std::move(value)};
      return;
    }
    if (map_.size() >= next_sweep_) Sweep(now);
    map_.emplace(key, Entry{expires, std::move(value)});
  }

  size_t size() const { return map_.size(); }
  // Entries examined by sweeps so far: the upkeep's work, for tests.
  uint64_t swept() const { return swept_; }

 private:
  struct Entry {
    TimePoint expires;
    Value value;
  };
  using Map = std::unordered_map<std::string, Entry>;

  // Drops the expired entries and, past half the bound, the live ones that
  // expire soonest. The next sweep waits until the map has doubled (or
  // reached min_sweep), so the stores in between pay for it: at most four
  // entries examined per store.
  void Sweep(TimePoint now) {
    swept_ += map_.size();
    std::erase_if(map_,
                  [now](const auto& e) { return e.second.expires <= now; });
    const size_t keep = max_entries_ / 2;
    if (map_.size() > keep) {
      swept_ += map_.size();
      std::vector<typename Map::iterator> order;
      order.reserve(map_.size());
      for (auto it = map_.begin(); it != map_.end(); ++it) order.push_back(it);
      auto cut =
          order.begin() + static_cast<std::ptrdiff_t>(order.size() - keep);
      std::nth_element(order.begin(), cut, order.end(),
                       [](const auto& a, const auto& b) {
                         return a->second.expires < b->second.expires;
                       });
      for (auto it = order.begin(); it != cut; ++it) map_.erase(*it);
    }
    next_sweep_ = std::max(min_sweep_, 2 * map_.size());
  }

  size_t max_entries_;
  size_t min_sweep_;
  size_t next_sweep_;
  uint64_t swept_ = 0;
  Map map_;
};

}  // namespace watchd

#endif  // WATCHD_NET_TTL_CACHE_H_
