// One per daemon: hears the events of watchd and of its services (from the
// ServiceReporters and the daemon), repeats those of services that stay
// unhealthy (`reminder`), and routes each notification to the targets
// whose filters take it: their `events`, their `services` patterns, and
// the service's own `notify:` list. Delivery is the TargetQueues' work, on
// loop timers: nothing here blocks or calls back into the caller.
#ifndef WATCHD_NOTIFY_NOTIFIER_H_
#define WATCHD_NOTIFY_NOTIFIER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "core/timer_wheel.h"
#include "metrics/metrics.h"
#include "notify/notification.h"
#include "notify/sender.h"
#include "notify/target_queue.h"

namespace watchd {

class CurlMulti;
class EventLoop;

class Notifier {
 public:
  // Makes the sender of one target.
  using SenderFactory = std::function<Result<std::unique_ptr<Sender>>(
      const NotifyTargetConfig& target)>;

  // The real senders: webhooks and mail through `curl`, commands as child
  // processes. Reads each mail target's password_file; an error names it.
  static Result<std::unique_ptr<Notifier>> Create(const NotifyConfig& config,
                                                  EventLoop* loop,
                                                  CurlMulti* curl,
                                                  Metrics* metrics);
  // With the senders `factory` makes (tests use fakes); `host` is what
  // notifications name as theirs.
  static Result<std::unique_ptr<Notifier>> CreateWith(
      const NotifyConfig& config, EventLoop* loop, Metrics* metrics,
      const SenderFactory& factory, std::string host);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // A reload's notify section. Targets whose definition (and the queue
  // policy) is unchanged keep their queue; changed and removed ones hand
  // what they hold to a queue of their own that delivers it and goes. An
  // error (a sender that cannot be made: a password_file) changes nothing.
  // Every service's list is forgotten: set them again after.
  Status Reconfigure(const NotifyConfig& config);

  // The targets `service`'s events go to (its `notify:`, names of
  // targets); nullopt: every target.
  void SetServiceTargets(
      const std::string& service,
      const std::optional<std::vector<std::string>>& targets);

  // An event of a service; time and host are filled in here. hung, dead,
  // failing and blocked (re)start the service's reminder.
  void Post(Notification n);
  // The service left the state its reminder repeats.
  void StopReminder(const std::string& service);
  // An event of watchd itself: started, stopping, reload_failed (the
  // reload calls this with the errors that kept the old configuration).
  void PostDaemonEvent(NotifyEvent event, std::string reason);

  // Sends what waits without waiting out coalescing windows, and runs the
  // loop until everything is delivered or given up on, or `limit` passes
  // (or only retries due after it are left): the last thing a stopping
  // daemon does, never from a loop callback.
  void Flush(Duration limit);
  bool idle() const;

 private:
  struct Target {
    NotifyTargetConfig config;
    NotifyEventSet events;
    std::vector<std::string> services;  // glob patterns; empty: all
    std::unique_ptr<TargetQueue> queue;
  };
  struct Reminder {
    Notification last;
    Timer timer;
  };

  Notifier(const NotifyConfig& config, EventLoop* loop, Metrics* metrics,
           SenderFactory factory, std::string host);
  // The targets of `config`, reusing those of targets_ that `reuse` allows.
  Result<std::vector<Target>> MakeTargets(const NotifyConfig& config,
                                          bool reuse);
  void Route(const Notification& n);
  bool Accepts(size_t target, const Notification& n) const;
  void Remind(const std::string& service);

  EventLoop* loop_;
  Metrics* metrics_;
  const SenderFactory factory_;
  Duration reminder_;
  TargetQueue::Policy policy_;
  const std::string host_;
  std::vector<Target> targets_;  // in name order
  // Queues a reload took out of service, until they have delivered.
  std::vector<std::unique_ptr<TargetQueue>> retired_;
  std::map<std::string, size_t> target_index_;  // name -> targets_ index
  // Services with a `notify:` list: the targets_ indices it allows.
  std::unordered_map<std::string, std::vector<size_t>> service_targets_;
  std::unordered_map<std::string, std::unique_ptr<Reminder>> reminders_;
};

}  // namespace watchd

#endif  // WATCHD_NOTIFY_NOTIFIER_H_
