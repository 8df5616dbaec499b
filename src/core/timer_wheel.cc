#include "core/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <vector>

namespace watchd {

namespace {

// Level L holds the timers whose expiry first differs from now_ in the L-th
// group of kBits bits (counting from the low end); its slot is that group of
// the expiry. So every pending slot of a level lies after now_'s own slot,
// and a level's slots cover ticks before those of the next level.
constexpr int kBits = 6;
constexpr int kSlots = 1 << kBits;
constexpr int kLevels = (64 + kBits - 1) / kBits;
constexpr uint32_t kDueList = kLevels * kSlots;  // expiry <= now_
constexpr uint32_t kRunList = kDueList + 1;      // being run by Advance
constexpr uint32_t kLists = kRunList + 1;
// TicksUntilNext reads at most this many timers of a slot.
constexpr int kExactScan = 8;

int LevelOf(uint64_t expires, uint64_t now) {
  return (std::bit_width(expires ^ now) - 1) / kBits;
}

uint64_t SlotOf(uint64_t expires, int level) {
  return (expires >> (level * kBits)) & (kSlots - 1);
}

// The first tick of the span that level `level` covers around `now`.
uint64_t SpanStart(uint64_t now, int level) {
  int shift = (level + 1) * kBits;
  return shift >= 64 ? 0 : now >> shift << shift;
}

}  // namespace

struct TimerWheel::Impl {
  Timer* heads[kLists] = {};
  uint64_t pending[kLevels] = {};
  // Scratch space of Collect, kept to spare Advance an allocation.
  std::vector<Timer*> batch;
  std::vector<Timer*> refile;

  void PushFront(Timer* t, uint32_t list) {
    Timer*& head = heads[list];
    t->list_ = list;
    t->prev_ = nullptr;
    t->next_ = head;
    if (head != nullptr) head->prev_ = t;
    head = t;
  }
};

Timer::~Timer() {
  if (wheel_ != nullptr) wheel_->Cancel(this);
}

TimerWheel::TimerWheel(uint64_t now) : now_(now), impl_(new Impl) {}

TimerWheel::~TimerWheel() {
  for (Timer* head : impl_->heads) {
    for (Timer* t = head; t != nullptr;) {
      Timer* next = t->next_;
      t->prev_ = t->next_ = nullptr;
      t->wheel_ = nullptr;
      t = next;
    }
  }
  delete impl_;
}

void TimerWheel::Schedule(Timer* t, uint64_t expires) {
  Cancel(t);
  t->wheel_ = this;
  t->expires_ = expires;
  t->seq_ = next_seq_++;
  ++size_;
  Link(t);
}

void TimerWheel::Cancel(Timer* t) {
  TimerWheel* wheel = t->wheel_;
  if (wheel == nullptr) return;
  wheel->Unlink(t);
  t->wheel_ = nullptr;
  --wheel->size_;
}

void TimerWheel::Link(Timer* t) {
  if (t->expires_ <= now_) {
    impl_->PushFront(t, kDueList);
    return;
  }
  int level = LevelOf(t->expires_, now_);
  uint64_t slot = SlotOf(t->expires_, level);
  impl_->pending[level] |= uint64_t{1} << slot;
  impl_->PushFront(t, level * kSlots + slot);
}

void TimerWheel::Unlink(Timer* t) {
  Timer*& head = impl_->heads[t->list_];
  if (t->prev_ != nullptr) {
    t->prev_->next_ = t->next_;
  } else {
    head = t->next_;
  }
  if (t->next_ != nullptr) t->next_->prev_ = t->prev_;
  t->prev_ = t->next_ = nullptr;
  if (head == nullptr && t->list_ < kDueList) {
    impl_->pending[t->list_ / kSlots] &= ~(uint64_t{1} << (t->list_ % kSlots));
  }
}

void TimerWheel::Collect(uint64_t now) {
  std::vector<Timer*>& batch = impl_->batch;
  std::vector<Timer*>& refile = impl_->refile;
  Timer*& due = impl_->heads[kDueList];
  for (Timer* t = due; t != nullptr; t = t->next_) batch.push_back(t);
  due = nullptr;
  for (int level = 0; level < kLevels; ++level) {
    uint64_t& bits = impl_->pending[level];
    if (bits == 0) continue;
    // The slots whose first tick `now` reaches: all of them once `now` has
    // left the level's span, else those after now_'s slot up to now's.
    uint64_t passed = ~uint64_t{0};
    if (SpanStart(now, level) == SpanStart(now_, level)) {
      passed = (uint64_t{2} << SlotOf(now, level)) -
               (uint64_t{2} << SlotOf(now_, level));
    }
    uint64_t hit = bits & passed;
    bits &= ~hit;
    for (; hit != 0; hit &= hit - 1) {
      Timer*& head = impl_->heads[level * kSlots + std::countr_zero(hit)];
      for (Timer* t = head; t != nullptr; t = t->next_) {
        (t->expires_ <= now ? batch : refile).push_back(t);
      }
      head = nullptr;
    }
  }
  now_ = now;
  // Each lands on a lower level than it left, so a timer cascades at most
  // kLevels - 1 times in its life.
  for (Timer* t : refile) Link(t);
  refile.clear();
}

void TimerWheel::Advance(uint64_t now) {
  Collect(std::max(now, now_));
  std::vector<Timer*>& batch = impl_->batch;
  std::sort(batch.begin(), batch.end(), [](const Timer* a, const Timer* b) {
    return a->expires_ != b->expires_ ? a->expires_ < b->expires_
                                      : a->seq_ < b->seq_;
  });
  // Queued on a list rather than run from the vector, so that a callback
  // can cancel or destroy a timer that is due but has not run yet.
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    impl_->PushFront(*it, kRunList);
  }
  batch.clear();
  while (Timer* t = impl_->heads[kRunList]) {
    Unlink(t);
    t->wheel_ = nullptr;
    --size_;
    // Nothing touches t after its callback, which may destroy it.
    if (t->cb_) t->cb_();
  }
}

std::optional<uint64_t> TimerWheel::TicksUntilNext() const {
  if (impl_->heads[kDueList] != nullptr || impl_->heads[kRunList] != nullptr) {
    return 0;
  }
  // The first slot of the lowest non-empty level holds the earliest expiry;
  // on level 0 its first tick is that expiry, higher up a cascade point. A
  // short slot is read for its exact earliest expiry instead, so a loop with
  // few timers wakes once per expiry, not once per level crossed.
  for (int level = 0; level < kLevels; ++level) {
    uint64_t bits = impl_->pending[level];
    if (bits == 0) continue;
    uint64_t slot = std::countr_zero(bits);
    uint64_t earliest = ~uint64_t{0};
    const Timer* t = impl_->heads[level * kSlots + slot];
    for (int i = 0; t != nullptr && i < kExactScan; ++i, t = t->next_) {
      earliest = std::min(earliest, t->expires_);
    }
    if (t != nullptr) {
      earliest = SpanStart(now_, level) + (slot << (level * kBits));
    }
    return earliest - now_;
  }
  return std::nullopt;
}

}  // namespace watchd
