// Batching of a supervisor's GetStatus calls. watchd looks a service's pid
// up on every run of its `process` and `memory` checks: 1,000 services at
// 10s are 100-200 lookups a second, and one request per lookup would cost
// supervisord (whose every request polls all its programs' pipes) more than
// a core. The calls made close together are answered by one request
// instead, asking each program they name once.
#ifndef WATCHD_ACTIONS_STATUS_BATCHER_H_
#define WATCHD_ACTIONS_STATUS_BATCHER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actions/supervisor.h"
#include "core/clock.h"
#include "core/timer_wheel.h"

namespace watchd {

class EventLoop;

// The least time between the starts of two batches while the previous one
// was not full. Idle, a call waits only for the next pass of the loop; under
// load a lookup waits at most this long plus the request, and 1,000
// services at 10s cost ~10 requests a second, each asking ~20 programs.
inline constexpr Duration kStatusBatchSpacing = std::chrono::milliseconds(100);
// The most programs one request asks about: supervisord answers a request
// in one go, its other clients (a restart) waiting meanwhile.
inline constexpr size_t kStatusBatchMax = 100;

// Owned through a shared_ptr by its supervisor and by every call it
// returned: a call outlives the supervisor (it still completes), and the
// batcher goes, cancelling any request, once the supervisor and all calls
// have gone.
class StatusBatcher : public std::enable_shared_from_this<StatusBatcher> {
 public:
  // One reply per program asked, in the order asked, or one error for all.
  using FetchDone = std::function<void(Result<std::vector<StatusReply>>)>;
  // Starts one request about `programs` (distinct, at most max_batch).
  // `done` runs once, later on the loop, unless the returned call is
  // destroyed first; it may destroy that call.
  using Fetch = std::function<std::unique_ptr<SupervisorCall>(
      const std::vector<std::string>& programs, FetchDone done)>;

  struct Options {
    Duration spacing = kStatusBatchSpacing;
    size_t max_batch = kStatusBatchMax;
  };

  static std::shared_ptr<StatusBatcher> Create(EventLoop* loop, Fetch fetch,
                                               Options options);
  StatusBatcher(const StatusBatcher&) = delete;
  StatusBatcher& operator=(const StatusBatcher&) = delete;

  // The Supervisor::GetStatusReply contract. A call joins the batch that
  // starts next: on the next pass of the loop, or `spacing` after the
  // previous batch started, or once the batch in flight has ended (one
  // request at a time). A batch's callers are answered in the order they
  // called; a failed request answers every caller waiting at the time with
  // its error, those queued behind it included. Calls made from inside a
  // callback join the next batch.
  std::unique_ptr<SupervisorCall> Add(const std::string& program,
                                      Supervisor::StatusReplyDone done);

 private:
  class Call;
  struct Waiter {
    std::string program;
    Supervisor::StatusReplyDone done;
    size_t slot = 0;  // its program's reply, while its batch is in flight
  };

  StatusBatcher(EventLoop* loop, Fetch fetch, Options options);

  void Cancel(uint64_t id);
  void ScheduleBatch();
  void StartBatch();
  void OnFetched(Result<std::vector<StatusReply>> replies);

  EventLoop* loop_;
  const Fetch fetch_;
  const Options options_;
  // By id, which is the order of the calls: the batch in flight is every
  // waiter before batch_end_, the ones after wait for the next batch.
  std::map<uint64_t, Waiter> waiters_;
  uint64_t next_id_ = 1;
  uint64_t batch_end_ = 0;
  std::unique_ptr<SupervisorCall> request_;  // the batch in flight
  TimePoint last_start_ = TimePoint::min();
  bool last_full_ = false;  // it left callers behind: no spacing for them
  Timer timer_;             // starts the next batch
};

}  // namespace watchd

#endif  // WATCHD_ACTIONS_STATUS_BATCHER_H_
