#include "net/curl_multi.h"

#include <sys/epoll.h>

#include <cstdint>
#include <string>
#include <utility>

#include "core/event_loop.h"

namespace watchd {
namespace {

// Enough open connections for many reuse_connection checks, few enough that
// idle sockets stay bounded (curl's default is 4 per added handle).
constexpr long kMaxCachedConnections = 256;

// Once per process; curl_global_init must not race with itself.
CURLcode GlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  return code;
}

}  // namespace

Result<std::unique_ptr<CurlMulti>> CurlMulti::Create(EventLoop* loop,
                                                     size_t max_idle_handles) {
  if (CURLcode code = GlobalInit(); code != CURLE_OK) {
    return Status::Error(std::string("curl_global_init: ") +
                         curl_easy_strerror(code));
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return Status::Error("curl_multi_init failed");
  std::unique_ptr<CurlMulti> self(new CurlMulti(loop, multi, max_idle_handles));
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &CurlMulti::OnSocketChange);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, self.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &CurlMulti::OnTimerChange);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, self.get());
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, kMaxCachedConnections);
  return self;
}

CurlMulti::CurlMulti(EventLoop* loop, CURLM* multi, size_t max_idle_handles)
    : loop_(loop), multi_(multi), max_idle_(max_idle_handles) {
  timer_.set_callback([this] { OnTimer(); });
}

CurlMulti::~CurlMulti() {
  for (Transfer& t : transfers_) {
    if (t.easy != nullptr) curl_multi_remove_handle(multi_, t.easy);
  }
  transfers_.clear();
  for (CURL* easy : idle_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  loop_->Cancel(&timer_);
  for (size_t fd = 0; fd < watched_.size(); ++fd) {
    if (watched_[fd]) loop_->Unwatch(static_cast<int>(fd));
  }
}

Status CurlMulti::Add(CURL* easy, DoneCallback done) {
  size_t slot;
  if (free_slots_.empty()) {
    slot = transfers_.size();
    transfers_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  // Slot + 1, so a handle never given a slot (PRIVATE null) matches none.
  curl_easy_setopt(easy, CURLOPT_PRIVATE,
                   reinterpret_cast<void*>(static_cast<uintptr_t>(slot + 1)));
  CURLMcode rc = curl_multi_add_handle(multi_, easy);
  if (rc != CURLM_OK) {
    free_slots_.push_back(slot);
    return Status::Error(std::string("curl_multi_add_handle: ") +
                         curl_multi_strerror(rc));
  }
  transfers_[slot].easy = easy;
  transfers_[slot].done = std::move(done);
  ++in_flight_;
  return Status::Ok();
}

CurlMulti::Transfer* CurlMulti::Find(CURL* easy) {
  void* p = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &p) != CURLE_OK) return nullptr;
  uintptr_t id = reinterpret_cast<uintptr_t>(p);
  if (id == 0 || id > transfers_.size()) return nullptr;
  Transfer* t = &transfers_[id - 1];
  return t->easy == easy ? t : nullptr;
}

void CurlMulti::Remove(CURL* easy) {
  Transfer* t = Find(easy);
  if (t == nullptr) return;
  curl_multi_remove_handle(multi_, easy);
  // Destroyed here, after the slot is free: its captures may re-enter.
  DoneCallback done = Detach(t);
}

CurlMulti::DoneCallback CurlMulti::Detach(Transfer* t) {
  // A handle may be listed more than once (one per refused socket), and it
  // may be released, or added again, before Drain gets to it.
  std::erase(unwatchable_, t->easy);
  DoneCallback done = std::move(t->done);
  t->easy = nullptr;
  t->done = nullptr;
  free_slots_.push_back(static_cast<size_t>(t - transfers_.data()));
  --in_flight_;
  return done;
}

CURL* CurlMulti::Acquire() {
  if (idle_.empty()) return curl_easy_init();
  CURL* easy = idle_.back();
  idle_.pop_back();
  return easy;
}

void CurlMulti::Release(CURL* easy) {
  if (idle_.size() < max_idle_) {
    curl_easy_reset(easy);
    idle_.push_back(easy);
  } else {
    curl_easy_cleanup(easy);
  }
}

int CurlMulti::OnSocketChange(CURL* easy, curl_socket_t fd, int what,
                              void* self_ptr, void* /*socket_data*/) {
  auto* self = static_cast<CurlMulti*>(self_ptr);
  size_t index = static_cast<size_t>(fd);
  if (what == CURL_POLL_REMOVE) {
    if (index < self->watched_.size() && self->watched_[index]) {
      self->loop_->Unwatch(fd);
      self->watched_[index] = false;
    }
    return 0;
  }
  uint32_t events = 0;
  if (what & CURL_POLL_IN) events |= EPOLLIN;
  if (what & CURL_POLL_OUT) events |= EPOLLOUT;
  Status status = self->loop_->Watch(fd, events, [self, fd](uint32_t ready) {
    self->OnSocketReady(fd, ready);
  });
  if (!status.ok()) {
    // Returning -1 would make curl kill every transfer of the multi; fail
    // just this one once curl has returned.
    self->unwatchable_.push_back(easy);
    return 0;
  }
  if (index >= self->watched_.size()) self->watched_.resize(index + 1);
  self->watched_[index] = true;
  return 0;
}

int CurlMulti::OnTimerChange(CURLM* /*multi*/, long timeout_ms,
                             void* self_ptr) {
  auto* self = static_cast<CurlMulti*>(self_ptr);
  self->timer_asked_ = true;
  // Even at 0 the work waits for the loop: curl forbids calling
  // curl_multi_socket_action from inside its own callback.
  if (timeout_ms < 0) {
    self->wanted_.reset();
    self->loop_->Cancel(&self->timer_);
    return 0;
  }
  const TimePoint due =
      self->loop_->Now() + std::chrono::milliseconds(timeout_ms);
  self->wanted_ = due;
  // Every new transfer asks for 0 ms. Moving a pending timer later on each
  // request starves it while checks keep starting, so only an earlier time
  // replaces a pending one; OnTimer re-arms for `wanted_` if that fires
  // first.
  if (self->timer_.pending() && self->due_ <= due) return 0;
  self->ArmTimer(due);
  return 0;
}

void CurlMulti::ArmTimer(TimePoint due) {
  due_ = due;
  loop_->ScheduleAt(&timer_, due);
}

void CurlMulti::OnSocketReady(curl_socket_t fd, uint32_t events) {
  int bits = 0;
  if (events & (EPOLLIN | EPOLLHUP)) bits |= CURL_CSELECT_IN;
  if (events & EPOLLOUT) bits |= CURL_CSELECT_OUT;
  // With ERR alone curl fails the transfer blindly; letting it try the I/O
  // too gives it the real errno (refused, reset) for the error message.
  if (events & EPOLLERR)
    bits |= CURL_CSELECT_ERR | CURL_CSELECT_IN | CURL_CSELECT_OUT;
  int running = 0;
  curl_multi_socket_action(multi_, fd, bits, &running);
  Drain();
}

void CurlMulti::OnTimer() {
  timer_asked_ = false;
  int running = 0;
  curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
  Drain();
  if (timer_asked_ || !wanted_) return;
  // curl calls its timer function only when its earliest deadline changes:
  // after a timer that fired before that deadline it stays silent, and the
  // deadline would be lost. One that has passed was handled by this call.
  if (*wanted_ > loop_->Now()) {
    ArmTimer(*wanted_);
  } else {
    wanted_.reset();
  }
}

void CurlMulti::Complete(CURL* easy, CURLcode code) {
  Transfer* t = Find(easy);
  if (t == nullptr) return;
  curl_multi_remove_handle(multi_, easy);
  DoneCallback done = Detach(t);
  done(code);
}

void CurlMulti::Drain() {
  // Each callback may add or remove transfers (and so change the message
  // queue and the slots): nothing is held across a call.
  while (!unwatchable_.empty()) {
    CURL* easy = unwatchable_.back();
    unwatchable_.pop_back();
    Complete(easy, CURLE_OUT_OF_MEMORY);
  }
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Complete(msg->easy_handle, msg->data.result);
  }
}

}  // namespace watchd
