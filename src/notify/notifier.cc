#include "notify/notifier.h"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>

#include "config/config_diff.h"
#include "config/file_reader.h"
#include "core/event_loop.h"
#include "notify/command_sender.h"
#include "notify/mail_sender.h"
#include "notify/webhook_sender.h"

namespace watchd {
namespace {

// A password file holds the password, perhaps with a final newline.
constexpr size_t kMaxPasswordBytes = 4096;

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

bool IsUnhealthy(NotifyEvent event) {
  return event == NotifyEvent::kHung || event == NotifyEvent::kDead ||
         event == NotifyEvent::kFailing || event == NotifyEvent::kBlocked;
}

}  // namespace

Result<std::unique_ptr<Notifier>> Notifier::Create(const NotifyConfig& config,
                                                   EventLoop* loop,
                                                   CurlMulti* curl,
                                                   Metrics* metrics) {
  SenderFactory factory =
      [loop, curl](
          const NotifyTargetConfig& target) -> Result<std::unique_ptr<Sender>> {
    if (const auto* hook = std::get_if<WebhookTargetConfig>(&target.kind)) {
      return std::unique_ptr<Sender>(new WebhookSender(curl, *hook));
    }
    if (const auto* mail = std::get_if<MailTargetConfig>(&target.kind)) {
      std::optional<std::string> password;
      if (mail->password_file) {
        Result<std::string> text =
            ReadConfigFile(*mail->password_file, kMaxPasswordBytes);
        if (!text.ok()) return text.status();
        password = std::move(text).value();
        while (!password->empty() &&
               (password->back() == '\n' || password->back() == '\r')) {
          password->pop_back();
        }
      }
      return std::unique_ptr<Sender>(
          new MailSender(curl, *mail, std::move(password)));
    }
    return std::unique_ptr<Sender>(
        new CommandSender(loop, std::get<CommandTargetConfig>(target.kind)));
  };
  return CreateWith(config, loop, metrics, factory, HostName());
}

Result<std::unique_ptr<Notifier>> Notifier::CreateWith(
    const NotifyConfig& config, EventLoop* loop, Metrics* metrics,
    const SenderFactory& factory, std::string host) {
  std::unique_ptr<Notifier> notifier(
      new Notifier(config, loop, metrics, factory, std::move(host)));
  Result<std::vector<Target>> targets =
      notifier->MakeTargets(config, /*reuse=*/false);
  if (!targets.ok()) return targets.status();
  notifier->targets_ = std::move(targets).value();
  for (size_t i = 0; i < notifier->targets_.size(); ++i) {
    notifier->target_index_[notifier->targets_[i].config.name] = i;
  }
  return notifier;
}

Notifier::Notifier(const NotifyConfig& config, EventLoop* loop,
                   Metrics* metrics, SenderFactory factory, std::string host)
    : loop_(loop),
      metrics_(metrics),
      factory_(std::move(factory)),
      reminder_(config.reminder),
      policy_{config.coalesce, config.queue_max, config.retry},
      host_(std::move(host)) {}

Notifier::~Notifier() = default;

Result<std::vector<Notifier::Target>> Notifier::MakeTargets(
    const NotifyConfig& config, bool reuse) {
  const TargetQueue::Policy policy{config.coalesce, config.queue_max,
                                   config.retry};
  std::vector<Target> targets;
  for (const auto& [name, target] : config.targets) {
    auto old = target_index_.find(name);
    if (reuse && old != target_index_.end() &&
        SameNotifyTarget(targets_[old->second].config, target)) {
      targets.push_back(
          Target{target, target.events, target.services, nullptr});
      continue;
    }
    Result<std::unique_ptr<Sender>> sender = factory_(target);
    if (!sender.ok()) {
      return Status::Error("notify target " + name + ": " +
                           sender.status().message());
    }
    targets.push_back(
        Target{target, target.events, target.services,
               std::make_unique<TargetQueue>(
                   name, loop_, std::move(sender).value(), policy, metrics_)});
  }
  return targets;
}

Status Notifier::Reconfigure(const NotifyConfig& config) {
  const TargetQueue::Policy policy{config.coalesce, config.queue_max,
                                   config.retry};
  const bool same_policy = policy.coalesce == policy_.coalesce &&
                           policy.queue_max == policy_.queue_max &&
                           policy.retry == policy_.retry;
  Result<std::vector<Target>> made = MakeTargets(config, same_policy);
  if (!made.ok()) return made.status();
  std::vector<Target> targets = std::move(made).value();
  // A target made anew leaves the old queue of its name to finish.
  for (Target& t : targets) {
    if (t.queue) continue;
    t.queue = std::move(targets_[target_index_.at(t.config.name)].queue);
  }
  for (Target& old : targets_) {
    if (old.queue && !old.queue->idle())
      retired_.push_back(std::move(old.queue));
  }
  targets_ = std::move(targets);
  target_index_.clear();
  for (size_t i = 0; i < targets_.size(); ++i) {
    target_index_[targets_[i].config.name] = i;
  }
  service_targets_.clear();
  policy_ = policy;
  if (config.reminder != reminder_) {
    reminder_ = config.reminder;
    if (reminder_ == Duration::zero()) {
      reminders_.clear();
    } else {
      for (auto& [service, r] : reminders_) {
        loop_->ScheduleAfter(&r->timer, reminder_);
      }
    }
  }
  return Status::Ok();
}

void Notifier::SetServiceTargets(
    const std::string& service,
    const std::optional<std::vector<std::string>>& targets) {
  if (!targets) {
    service_targets_.erase(service);
    return;
  }
  std::vector<size_t>& allowed = service_targets_[service];
  allowed.clear();
  for (const std::string& name : *targets) {
    // Unknown names were refused by the configuration's validation.
    auto it = target_index_.find(name);
    if (it != target_index_.end()) allowed.push_back(it->second);
  }
}

void Notifier::Post(Notification n) {
  n.time = std::chrono::system_clock::now();
  n.host = host_;
  if (reminder_ > Duration::zero() && IsUnhealthy(n.event)) {
    std::unique_ptr<Reminder>& r = reminders_[n.service];
    if (!r) {
      r = std::make_unique<Reminder>();
      r->timer.set_callback([this, service = n.service] { Remind(service); });
    }
    r->last = n;
    loop_->ScheduleAfter(&r->timer, reminder_);
  }
  Route(n);
}

void Notifier::StopReminder(const std::string& service) {
  reminders_.erase(service);
}

void Notifier::PostDaemonEvent(NotifyEvent event, std::string reason) {
  Notification n;
  n.event = event;
  n.reason = std::move(reason);
  n.time = std::chrono::system_clock::now();
  n.host = host_;
  Route(n);
}

void Notifier::Remind(const std::string& service) {
  Reminder& r = *reminders_.at(service);
  Notification n = r.last;
  n.time = std::chrono::system_clock::now();
  n.reminder = true;
  loop_->ScheduleAfter(&r.timer, reminder_);
  Route(n);
}

bool Notifier::Accepts(size_t target, const Notification& n) const {
  const Target& t = targets_[target];
  if ((t.events & (1u << static_cast<unsigned>(n.event))) == 0) return false;
  if (n.service.empty()) return true;  // watchd's own: no service filters
  auto listed = service_targets_.find(n.service);
  if (listed != service_targets_.end() &&
      std::find(listed->second.begin(), listed->second.end(), target) ==
          listed->second.end()) {
    return false;
  }
  if (t.services.empty()) return true;
  return std::any_of(
      t.services.begin(), t.services.end(), [&](const std::string& pattern) {
        return fnmatch(pattern.c_str(), n.service.c_str(), 0) == 0;
      });
}

void Notifier::Route(const Notification& n) {
  std::erase_if(retired_, [](const auto& q) { return q->idle(); });
  for (size_t i = 0; i < targets_.size(); ++i) {
    if (Accepts(i, n)) targets_[i].queue->Push(n);
  }
}

void Notifier::Flush(Duration limit) {
  for (Target& t : targets_) t.queue->Flush();
  for (auto& q : retired_) q->Flush();
  const TimePoint deadline = loop_->Now() + limit;
  auto busy = [&] {
    return std::any_of(targets_.begin(), targets_.end(),
                       [&](const Target& t) {
                         return t.queue->BusyBefore(deadline);
                       }) ||
           std::any_of(retired_.begin(), retired_.end(),
                       [&](const auto& q) { return q->BusyBefore(deadline); });
  };
  while (busy()) {
    const TimePoint now = loop_->Now();
    if (now >= deadline) break;
    loop_->RunOnce(
        std::min<Duration>(deadline - now, std::chrono::milliseconds(100)));
  }
}

bool Notifier::idle() const {
  return std::all_of(targets_.begin(), targets_.end(),
                     [](const Target& t) { return t.queue->idle(); }) &&
         std::all_of(retired_.begin(), retired_.end(),
                     [](const auto& q) { return q->idle(); });
}

}  // namespace watchd
