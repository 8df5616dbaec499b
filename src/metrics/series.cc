#include "metrics/series.h"

namespace watchd {

ServiceSeries::~ServiceSeries() {
  RestartReasonSeries* r = reasons.load();
  while (r != nullptr) {
    RestartReasonSeries* next = r->next;
    delete r;
    r = next;
  }
}

CounterCell& ServiceSeries::Restarts(const std::string& reason) {
  RestartReasonSeries* head = reasons.load(std::memory_order_relaxed);
  for (RestartReasonSeries* r = head; r != nullptr; r = r->next) {
    if (r->reason == reason) return r->restarts;
  }
  auto* added = new RestartReasonSeries{reason, {}, head};
  reasons.store(added, std::memory_order_release);
  return added->restarts;
}

}  // namespace watchd
