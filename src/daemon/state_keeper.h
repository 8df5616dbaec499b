// The daemon's side of daemon.state_file: at start it hands every service
// what an earlier watchd saved of it (a bad file is logged and set aside,
// and watchd starts without it), then saves whenever a service changes in
// a way worth keeping (through a StateWriter: at most once a second, the
// fsyncs off the loop), and once more, at once, as watchd stops.
#ifndef WATCHD_DAEMON_STATE_KEEPER_H_
#define WATCHD_DAEMON_STATE_KEEPER_H_

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "state/state_file.h"
#include "state/state_writer.h"

namespace watchd {

class EventLoop;
class Service;

class StateKeeper {
 public:
  // How long a change may wait to be saved with the ones after it.
  static constexpr Duration kSaveInterval = std::chrono::seconds(1);

  // `loop` and `services` (the daemon's) must outlive the keeper. Build it
  // after the loop's HandleSignals: its writer's thread must inherit the
  // blocked signals.
  StateKeeper(const std::string& path, EventLoop* loop,
              const std::vector<std::unique_ptr<Service>>* services);

  // Before the services start: restores each from the file, and from then
  // on saves their changes.
  void Restore();
  // A service a reload added or rebuilt: its changes are saved from now
  // on.
  void Track(Service* service);
  // Saves soon: a reload changed which services there are.
  void MarkDirty() { writer_.MarkDirty(); }
  // After the services stopped: the last save, on this thread. An error is
  // logged.
  void Close();

 private:
  StateWriter::Text Snapshot() const;

  EventLoop* loop_;
  const std::vector<std::unique_ptr<Service>>* services_;
  // This boot's id, that recorded processes carry; "" when it cannot be
  // read (then no process is kept).
  std::string boot_id_;
  StateFile file_;
  StateWriter writer_;  // after file_, which it saves to
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_STATE_KEEPER_H_
