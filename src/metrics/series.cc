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

ProcessSeries::~ProcessSeries() {
  NotifyTargetSeries* t = notify_targets.load();
  while (t != nullptr) {
    NotifyTargetSeries* next = t->next;
    delete t;
    t = next;
  }
}

NotifyTargetSeries* ProcessSeries::NotifyTarget(const std::string& target) {
  NotifyTargetSeries* head = notify_targets.load(std::memory_order_relaxed);
  for (NotifyTargetSeries* t = head; t != nullptr; t = t->next) {
    if (t->target == target) return t;
  }
  auto* added = new NotifyTargetSeries{target, {}, {}, head};
  notify_targets.store(added, std::memory_order_release);
  return added;
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
