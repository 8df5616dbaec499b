// Saves the state file off the loop's hot path. The daemon marks the state
// dirty on every change worth keeping; `interval` after the first unsaved
// change the writer takes a snapshot of the state (on the loop) and hands
// it to its one worker thread, which serializes and saves it (the write
// and both fsyncs block there, never the loop). So a change is on disk about
// `interval` after it was made, and a storm of changes within one interval (100
// services restarted at once) costs one write.
#ifndef WATCHD_STATE_STATE_WRITER_H_
#define WATCHD_STATE_STATE_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/timer_wheel.h"
#include "state/state_file.h"

namespace watchd {

class EventLoop;

class StateWriter {
 public:
  // Makes the state's text (SerializeState of what is to be kept); run on
  // the worker, so it must own what it serializes.
  using Text = std::function<std::string()>;
  // Copies what is to be kept, on the loop's thread, and returns the Text
  // that serializes the copy: at 10,000 services serializing took as long
  // as copying, and need not hold the loop. It must not destroy the writer.
  using Snapshot = std::function<Text()>;

  // `file` and `loop` must outlive the writer. Build it after the loop's
  // HandleSignals, so that its worker inherits the blocked signals.
  StateWriter(const StateFile* file, EventLoop* loop, Duration interval,
              Snapshot snapshot);
  // Lets the worker finish a save it was handed, then joins it; without
  // Close, changes not yet handed over are not saved.
  ~StateWriter();
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  // From the loop: something worth keeping changed.
  void MarkDirty();

  // Shutting down, from the loop: joins the worker (a save it is in the
  // middle of ends first; one it was only handed is dropped), then saves a
  // fresh snapshot on the calling thread. Later MarkDirty calls are
  // ignored.
  Status Close();

  // Saves done, by the worker and by Close.
  uint64_t saves() const { return saves_.load(); }

 private:
  void HandOver();
  // The worker thread's body. A failed save is logged (once per distinct
  // error) and tried again every `interval` until it works or a newer
  // text replaces it.
  void Work();
  void Note(const Status& status);
  void StopWorker();

  const StateFile* file_;
  EventLoop* loop_;
  const Duration interval_;
  Snapshot snapshot_;
  Timer timer_;  // pending while a change waits to be handed over
  bool closed_ = false;

  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<Text> handed_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::string last_error_;      // the worker's
  std::atomic<uint64_t> saves_{0};
  std::thread worker_;
};

}  // namespace watchd

#endif  // WATCHD_STATE_STATE_WRITER_H_
