// libcurl's multi-socket API driven by the EventLoop: curl's sockets are
// watched with epoll and its timer is a loop Timer, so transfers never block
// the loop. Also pools easy handles so their count follows concurrency, not
// the number of checks.
//
// Callbacks: a transfer's `done` runs on the loop, never inside Add or
// Remove; it may Add, Remove, Acquire or Release any handle, its own
// included, but must not destroy the CurlMulti.
#ifndef WATCHD_NET_CURL_MULTI_H_
#define WATCHD_NET_CURL_MULTI_H_

#include <curl/curl.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/timer_wheel.h"

namespace watchd {

class EventLoop;

class CurlMulti {
 public:
  using DoneCallback = std::function<void(CURLcode)>;

  // Idle easy handles kept for reuse; more are cleaned up on Release.
  static constexpr size_t kDefaultMaxIdleHandles = 64;

  static Result<std::unique_ptr<CurlMulti>> Create(
      EventLoop* loop, size_t max_idle_handles = kDefaultMaxIdleHandles);
  // Abandons transfers in flight without calling their callbacks. Must
  // outlive every user of its handles (so never from a `done`).
  ~CurlMulti();
  CurlMulti(const CurlMulti&) = delete;
  CurlMulti& operator=(const CurlMulti&) = delete;

  // Starts a configured transfer. `done` runs once, later on the loop,
  // after the handle has left the multi (so it may Release or re-Add it),
  // with curl's result (CURLE_OUT_OF_MEMORY also when the loop could not
  // watch a socket). CurlMulti owns the handle's CURLOPT_PRIVATE while it
  // is added.
  Status Add(CURL* easy, DoneCallback done);
  // Cancels a transfer started by Add: its callback is not called. A no-op
  // for a handle that is not in flight.
  void Remove(CURL* easy);

  // A clean easy handle (pooled or new), or nullptr when out of memory.
  CURL* Acquire();
  // Returns a handle that is not in flight; reset for its next user (curl
  // keeps its DNS, TLS session and connection caches).
  void Release(CURL* easy);

  EventLoop* loop() const { return loop_; }
  size_t in_flight() const { return in_flight_; }
  size_t idle_handles() const { return idle_.size(); }

 private:
  struct Transfer {
    CURL* easy = nullptr;  // nullptr: free slot
    DoneCallback done;
  };

  CurlMulti(EventLoop* loop, CURLM* multi, size_t max_idle_handles);

  static int OnSocketChange(CURL* easy, curl_socket_t fd, int what, void* self,
                            void* socket_data);
  static int OnTimerChange(CURLM* multi, long timeout_ms, void* self);
  void OnSocketReady(curl_socket_t fd, uint32_t events);
  void OnTimer();
  // Runs the callbacks of finished transfers.
  void Drain();
  // Takes a finished transfer out of the multi and runs its callback.
  void Complete(CURL* easy, CURLcode code);
  Transfer* Find(CURL* easy);
  // Frees t's slot; returns its callback.
  DoneCallback Detach(Transfer* t);
  void ArmTimer(TimePoint due);

  friend class CurlMultiPeer;  // tests drive the timer function

  EventLoop* loop_;
  CURLM* multi_;
  size_t max_idle_;
  Timer timer_;
  TimePoint due_;  // of timer_, while pending
  // The deadline curl last asked for; nullopt after it asked for none.
  std::optional<TimePoint> wanted_;
  // Whether curl called its timer function during the current OnTimer.
  bool timer_asked_ = false;
  // Slots indexed by the value stored in each easy's CURLOPT_PRIVATE, so a
  // transfer is found in O(1) and Add allocates nothing in steady state.
  std::vector<Transfer> transfers_;
  std::vector<size_t> free_slots_;
  size_t in_flight_ = 0;
  std::vector<CURL*> idle_;
  // Transfers whose socket the loop refused to watch, failed by Drain().
  std::vector<CURL*> unwatchable_;
  // Indexed by fd: what the loop watches for curl, so none is left behind.
  std::vector<bool> watched_;
};

}  // namespace watchd

#endif  // WATCHD_NET_CURL_MULTI_H_
