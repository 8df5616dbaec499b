// A command target: each message runs the operator's argv (no shell) as a
// ChildProcess on the loop, the notification's fields in its arguments
// ({service} ...) and its environment (WATCHD_EVENT, WATCHD_SERVICE, ...).
// A digest runs the command once, as event "digest" (docs/notifications.md).
// Anything but exit 0 within the timeout is worth a retry.
#ifndef WATCHD_NOTIFY_COMMAND_SENDER_H_
#define WATCHD_NOTIFY_COMMAND_SENDER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "notify/sender.h"

namespace watchd {

class ChildProcess;
class EventLoop;

// The field values a command sees for `batch`: the notification's own for
// one; for a digest, event "digest", the services named once each, the
// count as reason, and the first one's time and host.
std::map<std::string, std::string> CommandFields(
    const std::vector<Notification>& batch);

// The environment entries ("NAME=value") a command gets for `batch`:
// WATCHD_<FIELD> for each field, WATCHD_COUNT, and WATCHD_EVENTS with one
// line per notification ("TIME SERVICE EVENT: REASON").
std::vector<std::string> CommandEnvironment(
    const std::vector<Notification>& batch);

class CommandSender : public Sender {
 public:
  CommandSender(EventLoop* loop, const CommandTargetConfig& config);
  // Kills a command still running (its `done` is not called).
  ~CommandSender() override;

  void Send(const std::vector<Notification>& batch, Done done) override;

 private:
  EventLoop* loop_;
  CommandTargetConfig config_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_COMMAND_SENDER_H_
