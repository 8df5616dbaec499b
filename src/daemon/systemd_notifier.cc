#include "daemon/systemd_notifier.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>

#include "core/event_loop.h"

namespace watchd {
namespace {

// systemd keeps every STATUS= it gets; a flapping service must not flood it.
constexpr Duration kStatusEvery = std::chrono::seconds(1);

uint64_t MonotonicMicros() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 +
         static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace

std::string StatusLine(const std::array<size_t, kServiceStateCount>& counts) {
  size_t total = 0;
  for (size_t n : counts) total += n;
  std::string line =
      std::to_string(total) + (total == 1 ? " service" : " services");
  const char* sep = ": ";
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    line += sep + std::to_string(counts[i]) + " " +
            ServiceStateName(static_cast<ServiceState>(i));
    sep = ", ";
  }
  return line;
}

SystemdNotifier::Sender SystemdNotifier::SdNotifySender() {
  const char* socket = getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return nullptr;
  return [](const std::string& message) {
    int r = sd_notify(0, message.c_str());
    if (r < 0) {
      spdlog::debug("sd_notify failed: {}", strerror(-r));
    }
  };
}

std::optional<Duration> SystemdNotifier::WatchdogTimeoutFromEnvironment() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

SystemdNotifier::SystemdNotifier(EventLoop* loop, Sender send, Summary summary)
    : loop_(loop),
      send_(std::move(send)),
      summary_(std::move(summary)),
      status_timer_([this] { SendStatus(); }),
      watchdog_timer_([this] { OnWatchdogTimer(); }) {}

SystemdNotifier::~SystemdNotifier() = default;

void SystemdNotifier::Ready() {
  if (!send_) return;
  loop_->Cancel(&status_timer_);
  last_status_ = summary_();
  last_status_at_ = loop_->Now();
  send_("READY=1\nSTATUS=" + last_status_);
}

void SystemdNotifier::Reloading() {
  if (!send_) return;
  send_("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(MonotonicMicros()) +
        "\nSTATUS=reloading the configuration");
  // Ready() sends the line afresh, whatever it was before.
  last_status_.clear();
}

void SystemdNotifier::Stopping(const std::string& status) {
  stopping_ = true;
  loop_->Cancel(&status_timer_);
  if (!send_) return;
  send_("STOPPING=1\nSTATUS=" + status);
}

void SystemdNotifier::ServicesChanged() {
  if (!send_ || stopping_ || status_timer_.pending()) return;
  // On a timer, never at once: the change is still being made by the
  // service that reports it, and a burst of changes in one pass of the
  // loop (500 services failing together) makes one line.
  loop_->ScheduleAt(&status_timer_,
                    std::max(loop_->Now(), last_status_at_ + kStatusEvery));
}

void SystemdNotifier::SendStatus() {
  last_status_at_ = loop_->Now();
  std::string line = summary_();
  if (line == last_status_) return;
  last_status_ = std::move(line);
  send_("STATUS=" + last_status_);
}

void SystemdNotifier::StartWatchdog(Duration timeout) {
  watchdog_interval_ = timeout / 2;
  max_lateness_ = timeout / 4;
  watchdog_due_ = loop_->Now() + watchdog_interval_;
  loop_->ScheduleAt(&watchdog_timer_, watchdog_due_);
}

void SystemdNotifier::OnWatchdogTimer() {
  const TimePoint now = loop_->Now();
  const Duration late = now - watchdog_due_;
  if (late <= max_lateness_) {
    if (send_) send_("WATCHDOG=1");
    if (behind_) {
      spdlog::info("watchdog: the loop is back on schedule; pings resume");
    }
    behind_ = false;
  } else if (!behind_) {
    behind_ = true;
    spdlog::warn(
        "watchdog: the loop ran {} behind its schedule (more than "
        "WatchdogSec/4 = {}): pings skipped until it keeps time again; "
        "systemd restarts watchd if it stays behind",
        FormatDuration(
            std::chrono::duration_cast<std::chrono::milliseconds>(late)),
        FormatDuration(max_lateness_));
  }
  // From now, not from the plan, so the next look judges the loop's delay
  // after the stall, not the stall again. After a skip it comes sooner:
  // systemd's deadline is then at most WatchdogSec/4 away, and a loop that
  // has caught up must ping before it.
  watchdog_due_ = now + (behind_ ? max_lateness_ / 2 : watchdog_interval_);
  loop_->ScheduleAt(&watchdog_timer_, watchdog_due_);
}

}  // namespace watchd
