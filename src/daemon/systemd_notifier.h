// What watchd tells systemd through sd_notify: READY=1, a STATUS= line that
// follows the services' states, RELOADING=1 and STOPPING=1, and WATCHDOG=1
// from the loop only while the loop keeps its schedule. Loop thread only.
#ifndef WATCHD_DAEMON_SYSTEMD_NOTIFIER_H_
#define WATCHD_DAEMON_SYSTEMD_NOTIFIER_H_

#include <array>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/timer_wheel.h"
#include "health/service.h"

namespace watchd {

class EventLoop;

// "42 services: 40 ok, 1 hung, 1 failing": the total, then each state that
// has services, in ServiceState order. `counts` is indexed by ServiceState.
std::string StatusLine(const std::array<size_t, kServiceStateCount>& counts);

class SystemdNotifier {
 public:
  // One sd_notify message ("KEY=VALUE" lines).
  using Sender = std::function<void(const std::string& message)>;
  // The current STATUS= text; asked at most once a second.
  using Summary = std::function<std::string()>;

  // sd_notify when NOTIFY_SOCKET is set (watchd runs as a Type=notify
  // service); else null, and the notifier does nothing.
  static Sender SdNotifySender();
  // WatchdogSec, when systemd asked this process for pings (WATCHDOG_USEC,
  // and WATCHDOG_PID if set is ours).
  static std::optional<Duration> WatchdogTimeoutFromEnvironment();

  // A null `send` makes every call a no-op.
  SystemdNotifier(EventLoop* loop, Sender send, Summary summary);
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // READY=1 with the current STATUS: at start, and when a reload is done.
  void Ready();
  // RELOADING=1 with MONOTONIC_USEC (CLOCK_MONOTONIC, as systemd requires)
  // as a reload begins; Ready() ends it, whether the reload worked or not.
  void Reloading();
  // STOPPING=1 with `status`; STATUS stops following the services.
  void Stopping(const std::string& status);

  // A service changed state. STATUS follows on the loop: at most one line
  // a second, and the line after the last change is always sent.
  void ServicesChanged();

  // Pings WATCHDOG=1 every `timeout`/2 from the loop's timer wheel. A ping
  // is skipped (a warning logged once until the loop catches up) when its
  // timer fired more than `timeout`/4 late, and the next look comes
  // `timeout`/8 later: a loop back on time pings before systemd's deadline,
  // one that stays behind lets systemd restart watchd. The timer shares the
  // wheel with the checks, so its lateness is the scheduler lateness that
  // watchd_scheduler_lateness_seconds reports for probes.
  void StartWatchdog(Duration timeout);

  // For tests: whether the last watchdog timer found the loop behind.
  bool behind() const { return behind_; }

 private:
  void SendStatus();
  void OnWatchdogTimer();

  EventLoop* loop_;
  Sender send_;
  Summary summary_;
  Timer status_timer_;
  Timer watchdog_timer_;
  std::string last_status_;
  TimePoint last_status_at_{};
  Duration watchdog_interval_{0};
  Duration max_lateness_{0};
  TimePoint watchdog_due_{};
  bool stopping_ = false;
  bool behind_ = false;
};

}  // namespace watchd

#endif  // WATCHD_DAEMON_SYSTEMD_NOTIFIER_H_
