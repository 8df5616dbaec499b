// Daemon::Reload: SIGHUP and `watchctl reload` (docs/configuration.md,
// "Reload"). Two steps: PlanReload makes everything the new configuration
// needs (supervisors, services, probes, notify targets) with nothing
// running touched, so any error leaves the old configuration whole;
// ApplyReload then swaps, and cannot fail.
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <set>

#include "actions/supervisor.h"
#include "config/config_diff.h"
#include "core/event_loop.h"
#include "daemon/check_reporter.h"
#include "daemon/daemon.h"
#include "daemon/log_setup.h"
#include "daemon/service_reporter.h"
#include "daemon/state_keeper.h"
#include "daemon/systemd_notifier.h"
#include "health/service.h"
#include "metrics/metrics.h"
#include "notify/notifier.h"
#include "probes/probe.h"

namespace watchd {
namespace {

// The reading thread's nice value (the loop's is the process's, 0 as
// shipped).
constexpr int kReloadNice = 10;
// How often parked services are looked at.
constexpr Duration kReloadPoll = std::chrono::milliseconds(100);
// Within one watchd the boot cannot change: what a handed-over process
// record is tagged with.
constexpr char kThisBoot[] = "this-boot";

// "a, b, c", or "none"; past 20 names "… and N more": a reload that
// changes 10,000 services logs one line, not 100 KB of one.
std::string Join(const std::vector<std::string>& names) {
  constexpr size_t kMaxNamed = 20;
  if (names.empty()) return "none";
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamed; ++i) {
    out += (out.empty() ? "" : ", ") + names[i];
  }
  if (names.size() > kMaxNamed) {
    out += " and " + std::to_string(names.size() - kMaxNamed) + " more";
  }
  return out;
}

// The daemon: settings a running watchd cannot take up; log_level can.
std::vector<std::string> DaemonChanges(const DaemonConfig& a,
                                       const DaemonConfig& b) {
  std::vector<std::string> changed;
  if (a.control_socket != b.control_socket) changed.push_back("control_socket");
  if (a.control_group != b.control_group) changed.push_back("control_group");
  if (a.state_file != b.state_file) changed.push_back("state_file");
  if (a.metrics_listen != b.metrics_listen) changed.push_back("metrics_listen");
  if (a.log_file != b.log_file) changed.push_back("log_file");
  return changed;
}

// A restart is under way, or the grace after it: the successor of a
// changed service waits, since it could not take either over.
bool MidRestart(const Service& service) {
  return service.restart_info().in_flight ||
         service.state() == ServiceState::kStarting;
}

const CheckConfig* FindCheck(const std::vector<CheckConfig>& checks,
                             const std::string& name) {
  for (const CheckConfig& c : checks) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

// What PlanReload made, for ApplyReload to put in place.
struct Daemon::ReloadPlan {
  Config next;
  // New and changed supervisors, by name.
  std::map<std::string, std::unique_ptr<Supervisor>> supervisors;
  // Changed checks of services that keep running, by service name: the
  // new list, and the reporters of the checks it adds.
  struct CheckChange {
    std::vector<Service::CheckPlan> plan;
    std::map<std::string, std::unique_ptr<CheckReporter>> reporters;
  };
  std::map<std::string, CheckChange> check_changes;
  // New services and successors of changed ones, by name (not started).
  std::map<std::string, Parked> built;
  std::vector<std::string> added, removed, changed;
  size_t checks_kept = 0;
  // Running services kept (not rebuilt) that the thread did not find
  // unchanged: their checks or notify list may differ.
  // and where in `next.services` each is.
  std::vector<std::pair<Service*, size_t>> looked_at;
  // The file lists the running services in their order, no more, no less.
  bool same_order = false;
  // The thread compared against a definition that was replaced since: the
  // plan is void, and the reload is read again.
  bool stale = false;
};

// What the reload thread found comparing the new file with the running
// definitions, so the loop compares only what changed: at 10,000 services
// comparing them all held the loop ~25 ms, and each run due meanwhile
// late by up to that.
struct Daemon::ReloadDiff {
  // The running definitions compared against, by name; held so that none
  // is freed (and its address reused) before the loop has checked them.
  std::vector<std::shared_ptr<const ServiceConfig>> known;
  // The running services' names in their order.
  std::vector<std::string> order;
  // Per service of the new file: the running definition it equals in
  // every respect, or null. The loop trusts it only while that is still
  // the unit's definition (a parked successor may have taken over since).
  std::vector<const ServiceConfig*> same_as;
  // Per service of the new file: its number of checks.
  std::vector<size_t> checks;
  // The new file lists the same services in the same order.
  bool same_order = false;

  // On the reload thread. Services found unchanged keep only their name
  // in `next`: the loop needs nothing else of them, and freeing 10,000
  // definitions is the thread's work too.
  void Compare(Config* next) {
    std::map<std::string_view, const ServiceConfig*> running;
    for (const auto& d : known) running.emplace(d->name, d.get());
    same_order = next->services.size() == order.size();
    same_as.assign(next->services.size(), nullptr);
    checks.assign(next->services.size(), 0);
    for (size_t i = 0; i < next->services.size(); ++i) {
      ServiceConfig& config = next->services[i];
      same_order = same_order && config.name == order[i];
      checks[i] = config.checks.size();
      auto found = running.find(config.name);
      if (found == running.end() || !SameService(*found->second, config)) {
        continue;
      }
      same_as[i] = found->second;
      ServiceConfig name_only;
      name_only.name = std::move(config.name);
      config = std::move(name_only);
    }
  }
};

void Daemon::Reload(ReloadDone done) {
  if (stopping_) {
    if (done) {
      loop_.RunInLoop(
          [done] { done(Status::Error("watchd is stopping: not reloaded")); });
    }
    return;
  }
  if (reload_thread_.joinable()) {
    // The file being read may be older than this request.
    reload_again_ = true;
    if (done) next_reload_waiters_.push_back(std::move(done));
    return;
  }
  if (done) reload_waiters_.push_back(std::move(done));
  notifier_->Reloading();
  // Reading and checking 10,000 checks takes a few hundred milliseconds:
  // not on the loop, whose probes would start that late. LoadConfig
  // touches nothing of the daemon's.
  auto diff = std::make_shared<ReloadDiff>();
  diff->known.reserve(units_.size());
  for (const auto& [name, unit] : units_)
    diff->known.push_back(unit.definition);
  diff->order.reserve(services_.size());
  for (const auto& service : services_) diff->order.push_back(service->name());
  reload_thread_ = std::thread([this, path = config_path_, diff] {
    // Below the loop: on a busy machine the probes' schedule comes first,
    // and a reload may take longer (docs/configuration.md, "Reload").
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kReloadNice);
    auto loaded = std::make_shared<LoadResult>(LoadConfig(path));
    if (loaded->ok()) diff->Compare(&loaded->config);
    loop_.RunInLoop([this, loaded, diff] {
      FinishReload(std::move(*loaded), std::move(diff));
    });
  });
}

void Daemon::FinishReload(LoadResult loaded, std::shared_ptr<ReloadDiff> diff) {
  reload_thread_.join();
  Status result = Status::Ok();
  if (stopping_) {
    result = Status::Error("watchd is stopping: not reloaded");
  } else if (!loaded.ok()) {
    std::string errors;
    for (const ConfigError& e : loaded.errors) {
      errors += (errors.empty() ? "" : "\n") + e.ToString();
    }
    result = Status::Error(errors);
  } else {
    auto plan = std::make_unique<ReloadPlan>();
    result = PlanReload(std::move(loaded.config), *diff, plan.get());
    if (plan->stale) {
      // Rare: a changed service's successor took over while the file was
      // read. The same callers wait for a fresh read.
      spdlog::info(
          "reload: a service changed while {} was read; reading it "
          "again",
          config_path_);
      std::vector<ReloadDone> waiters;
      waiters.swap(reload_waiters_);
      Reload(nullptr);
      for (auto& w : waiters) reload_waiters_.push_back(std::move(w));
      return;
    }
    if (result.ok()) ApplyReload(std::move(*plan));
  }
  if (!stopping_) {
    metrics_->SetConfigReloadSuccessful(result.ok());
    if (!result.ok()) {
      spdlog::error(
          "reload of {} failed; still running the configuration loaded "
          "before:",
          config_path_);
      size_t start = 0;
      const std::string& m = result.message();
      while (start <= m.size()) {
        size_t end = m.find('\n', start);
        if (end == std::string::npos) end = m.size();
        spdlog::error("  {}", m.substr(start, end - start));
        start = end + 1;
      }
      notifications_->PostDaemonEvent(NotifyEvent::kReloadFailed,
                                      result.message());
    }
    notifier_->Ready();
  }
  std::vector<ReloadDone> waiters;
  waiters.swap(reload_waiters_);
  if (reload_again_) {
    reload_again_ = false;
    std::vector<ReloadDone> next;
    next.swap(next_reload_waiters_);
    Reload(nullptr);
    for (auto& w : next) {
      if (reload_thread_.joinable()) {
        reload_waiters_.push_back(std::move(w));
      } else {
        w(Status::Error("watchd is stopping: not reloaded"));
      }
    }
  }
  for (auto& w : waiters) w(result);
}

Status Daemon::PlanReload(Config next, const ReloadDiff& diff,
                          ReloadPlan* plan) {
  for (const auto& [name, config] : next.supervisors) {
    auto old = config_.supervisors.find(name);
    if (old != config_.supervisors.end() &&
        SameSupervisor(old->second, config)) {
      continue;
    }
    auto supervisor = MakeSupervisor(config, &loop_, curl_.get());
    if (!supervisor.ok()) {
      return Status::Error("supervisor " + name + ": " +
                           supervisor.status().message());
    }
    plan->supervisors[name] = std::move(supervisor).value();
  }
  auto supervisor_of = [&](const ServiceConfig& c) -> Supervisor* {
    if (!c.supervisor) return nullptr;
    auto made = plan->supervisors.find(*c.supervisor);
    if (made != plan->supervisors.end()) return made->second.get();
    return supervisors_.at(*c.supervisor).get();
  };

  // The thread compared against the definitions as they were when it
  // began; a parked successor that took over since voids its verdicts
  // (rare: the plan is read again). One pass over pointers, where looking
  // each service up by name held the loop several milliseconds.
  size_t k = 0;
  for (const auto& [name, unit] : units_) {
    if (k >= diff.known.size() || unit.definition != diff.known[k++]) {
      plan->stale = true;
      return Status::Ok();
    }
  }
  if (k != diff.known.size()) {
    plan->stale = true;
    return Status::Ok();
  }
  // Built only if a service needs more than the thread's verdict.
  std::map<std::string, Service*, std::less<>> by_name;
  size_t present = 0;  // services of the file that run now
  for (size_t index = 0; index < next.services.size(); ++index) {
    const ServiceConfig& config = next.services[index];
    const ServiceConfig* unchanged = diff.same_as[index];
    if (unchanged != nullptr &&
        !(unchanged->supervisor &&
          plan->supervisors.count(*unchanged->supervisor))) {
      plan->checks_kept += diff.checks[index];
      ++present;
      continue;
    }
    if (unchanged != nullptr) {
      // Unchanged, but its supervisor is rebuilt: so is the service, from
      // the running definition (the thread kept only the name).
      next.services[index] = *unchanged;
    }
    auto unit_it = units_.find(config.name);
    if (by_name.empty()) by_name = ServicesByName();
    auto found = by_name.find(config.name);
    Service* running = found == by_name.end() ? nullptr : found->second;
    if (running != nullptr) ++present;
    const bool new_supervisor =
        config.supervisor && plan->supervisors.count(*config.supervisor);
    if (running == nullptr || new_supervisor ||
        !SameServiceSettings(running->config(), config)) {
      Parked built;
      std::shared_ptr<ServiceReporter> reporter;
      if (running != nullptr) reporter = unit_it->second.reporter;
      auto service = MakeService(config, supervisor_of(config),
                                 std::move(reporter), &built.unit);
      if (!service.ok()) return service.status();
      built.service = std::move(service).value();
      plan->built[config.name] = std::move(built);
      (running == nullptr ? plan->added : plan->changed).push_back(config.name);
      continue;
    }
    // The same service: only its checks (or its notify list) may differ.
    plan->looked_at.emplace_back(running, index);
    const std::vector<CheckConfig>& old_checks =
        unit_it->second.definition->checks;
    bool same = old_checks.size() == config.checks.size();
    ReloadPlan::CheckChange change;
    for (size_t i = 0; i < config.checks.size(); ++i) {
      const CheckConfig& check = config.checks[i];
      const CheckConfig* old = FindCheck(old_checks, check.name);
      if (old != nullptr && SameCheck(*old, check)) {
        same = same && old_checks[i].name == check.name;
        change.plan.push_back({check.name, nullptr, nullptr, nullptr});
        ++plan->checks_kept;
        continue;
      }
      same = false;
      Service::CheckPlan entry{check.name, &check, nullptr, nullptr};
      std::unique_ptr<CheckReporter> reporter;
      Status s = MakeCheck(running, check, &entry.probe, &reporter);
      if (!s.ok()) return s;
      entry.reporter = reporter.get();
      change.reporters[check.name] = std::move(reporter);
      change.plan.push_back(std::move(entry));
    }
    if (!same) {
      plan->check_changes[config.name] = std::move(change);
      plan->changed.push_back(config.name);
    }
  }
  if (present < services_.size()) {
    std::set<std::string_view> names;
    for (const ServiceConfig& config : next.services) names.insert(config.name);
    for (const auto& service : services_) {
      if (!names.count(service->name())) {
        plan->removed.push_back(service->name());
      }
    }
  }
  // Last of what can fail: it changes the notifier when it succeeds.
  Status s = notifications_->Reconfigure(next.notify);
  if (!s.ok()) return s;
  plan->same_order = diff.same_order;
  plan->next = std::move(next);
  return Status::Ok();
}

void Daemon::ApplyReload(ReloadPlan plan) {
  Config& next = plan.next;
  for (const std::string& key : DaemonChanges(config_.daemon, next.daemon)) {
    spdlog::warn(
        "reload: daemon.{} changed; it takes effect when watchd restarts", key);
  }
  if (next.daemon.log_level != config_.daemon.log_level) {
    SetLogLevel(next.daemon.log_level);
  }
  config_.daemon.log_level = next.daemon.log_level;
  // Successors from an earlier reload are planned afresh by this one.
  successors_.clear();

  for (auto& [name, supervisor] : plan.supervisors) {
    auto old = supervisors_.find(name);
    if (old != supervisors_.end()) {
      old_supervisors_.push_back(std::move(old->second));
    }
    supervisors_[name] = std::move(supervisor);
  }
  config_.supervisors = next.supervisors;
  config_.notify = next.notify;

  // A kept service the thread did not find unchanged: its changed checks,
  // and the definition the next reload compares (and its notify list is
  // set from, in FinishApply).
  auto update_kept = [&](Service* service, ServiceConfig& config) {
    const std::string& name = config.name;
    Unit& unit = units_.at(name);
    auto change = plan.check_changes.find(name);
    if (change != plan.check_changes.end()) {
      // The dropped checks' reporters outlive their checks.
      std::map<std::string, std::unique_ptr<CheckReporter>> old;
      old.swap(unit.check_reporters);
      service->ReplaceChecks(std::move(change->second.plan));
      for (const CheckConfig& check : config.checks) {
        auto made = change->second.reporters.find(check.name);
        unit.check_reporters[check.name] =
            made != change->second.reporters.end()
                ? std::move(made->second)
                : std::move(old.at(check.name));
      }
    }
    unit.definition = std::make_shared<const ServiceConfig>(std::move(config));
  };

  if (plan.built.empty() && plan.removed.empty() && plan.same_order) {
    // The usual reload, a few checks changed: the list of services stands,
    // and only the services looked at are touched.
    for (auto& [service, index] : plan.looked_at) {
      update_kept(service, next.services[index]);
    }
    FinishApply(plan, {});
    return;
  }

  ++services_generation_;
  // Removed services: stopped, unless a restart is under way, which is
  // let finish (a command restart cut between its stop and its start
  // would leave the service down).
  std::vector<std::unique_ptr<Service>> running;
  running.swap(services_);
  std::map<std::string, std::unique_ptr<Service>> by_name;
  for (auto& service : running) {
    std::string name = service->name();
    by_name[name] = std::move(service);
  }
  for (const std::string& name : plan.removed) {
    Parked parked{std::move(units_.at(name)), std::move(by_name.at(name))};
    units_.erase(name);
    by_name.erase(name);
    if (parked.service->restart_info().in_flight) {
      parked.service->Drain();
      parked.deadline = loop_.Now() + RestartBound();
      spdlog::info(
          "reload: service {} removed; its restart in flight ends first", name);
      retiring_.push_back(std::move(parked));
    }
  }

  std::vector<bool> looked_at(next.services.size(), false);
  for (const auto& entry : plan.looked_at) looked_at[entry.second] = true;
  std::vector<Service*> to_start;
  for (size_t index = 0; index < next.services.size(); ++index) {
    ServiceConfig& config = next.services[index];
    const std::string name = config.name;
    auto built = plan.built.find(name);
    if (built == plan.built.end()) {
      std::unique_ptr<Service>& service = by_name.at(name);
      if (looked_at[index]) update_kept(service.get(), config);
      services_.push_back(std::move(service));
      continue;
    }
    Parked successor = std::move(built->second);
    auto old = by_name.find(name);
    if (old == by_name.end()) {
      units_[name] = std::move(successor.unit);
      services_.push_back(std::move(successor.service));
      to_start.push_back(services_.back().get());
      continue;
    }
    services_.push_back(std::move(old->second));
    if (MidRestart(*services_.back())) {
      spdlog::info(
          "reload: service {} changed; its restart in flight (and "
          "start_grace) ends before the new definition takes over",
          name);
      successors_[name] = std::move(successor);
      continue;
    }
    // Replaced at once; its checks start with the others below.
    HandOver(*services_.back(), units_.at(name), successor.service.get(),
             successor.unit);
    services_.back()->Stop();
    services_.back() = std::move(successor.service);
    units_[name] = std::move(successor.unit);
    to_start.push_back(services_.back().get());
  }
  Rewire();
  FinishApply(plan, to_start);
}

void Daemon::FinishApply(const ReloadPlan& plan,
                         const std::vector<Service*>& to_start) {
  // Reconfiguring the notifier dropped every service's `notify:` list
  // (target numbers may have changed): each is set again from the
  // definition that will run, a parked successor's where there is one.
  for (const auto& [name, unit] : units_) {
    auto parked = successors_.find(name);
    const ServiceConfig& definition = parked != successors_.end()
                                          ? *parked->second.unit.definition
                                          : *unit.definition;
    if (definition.notify) {
      notifications_->SetServiceTargets(name, definition.notify);
    }
  }
  for (Service* service : to_start) {
    if (state_) state_->Track(service);
    service->Start();
    units_.at(service->name()).reporter->Resync(*service);
  }
  // A reload that changed nothing leaves the state file as it is: its
  // snapshot of every service holds the loop too.
  if (state_ &&
      (!plan.added.empty() || !plan.removed.empty() || !plan.changed.empty())) {
    state_->MarkDirty();
  }
  PruneSupervisors();
  UpdateCoalescingGrain();
  notifier_->ServicesChanged();
  if (!retiring_.empty() || !successors_.empty()) {
    loop_.ScheduleAfter(&reload_timer_, kReloadPoll);
  }
  spdlog::info(
      "reloaded {}: {} services; added: {}; removed: {}; changed: {}; {} "
      "checks unchanged",
      config_path_, services_.size(), Join(plan.added), Join(plan.removed),
      Join(plan.changed), plan.checks_kept);
}

void Daemon::HandOver(const Service& from, const Unit& from_unit, Service* to,
                      const Unit& to_unit) {
  const ClockReading clocks{loop_.Now(), std::chrono::system_clock::now()};
  SavedService saved = from.SaveState(clocks, kThisBoot);
  // A check defined anew starts afresh.
  std::erase_if(saved.checks, [&](const auto& entry) {
    const CheckConfig* a = FindCheck(from_unit.definition->checks, entry.first);
    const CheckConfig* b = FindCheck(to_unit.definition->checks, entry.first);
    return a == nullptr || b == nullptr || !SameCheck(*a, *b);
  });
  to->RestoreState(saved, clocks, kThisBoot);
}

void Daemon::ReloadStep() {
  ++services_generation_;
  const TimePoint now = loop_.Now();
  std::erase_if(retiring_, [&](Parked& p) {
    if (p.service->restart_info().in_flight && now < p.deadline) return false;
    spdlog::info("service {}: removed by the reload, stopped now",
                 p.service->name());
    p.service->Stop();
    return true;
  });
  std::vector<std::string> ready;
  for (auto& [name, successor] : successors_) {
    Service* old = FindService(name);
    if (old != nullptr && !MidRestart(*old)) ready.push_back(name);
  }
  for (const std::string& name : ready) {
    for (size_t i = 0; i < services_.size(); ++i) {
      if (services_[i]->name() != name) continue;
      Parked successor = std::move(successors_.at(name));
      successors_.erase(name);
      ReplaceRunning(i, std::move(successor));
      break;
    }
  }
  if (!ready.empty()) {
    Rewire();
    PruneSupervisors();
    UpdateCoalescingGrain();
    if (state_) state_->MarkDirty();
  }
  if (!retiring_.empty() || !successors_.empty()) {
    loop_.ScheduleAfter(&reload_timer_, kReloadPoll);
  }
}

void Daemon::ReplaceRunning(size_t index, Parked successor) {
  std::unique_ptr<Service>& slot = services_[index];
  const std::string name = slot->name();
  HandOver(*slot, units_.at(name), successor.service.get(), successor.unit);
  slot->Stop();
  slot = std::move(successor.service);
  units_[name] = std::move(successor.unit);
  spdlog::info("service {}: its new definition takes over", name);
  if (state_) state_->Track(slot.get());
  slot->Start();
  units_.at(name).reporter->Resync(*slot);
}

void Daemon::PruneSupervisors() {
  std::erase_if(old_supervisors_, [&](const std::unique_ptr<Supervisor>& s) {
    auto uses = [&](const Service& service) {
      return service.supervisor() == s.get();
    };
    for (const auto& service : services_) {
      if (uses(*service)) return false;
    }
    for (const Parked& p : retiring_) {
      if (uses(*p.service)) return false;
    }
    return true;
  });
}

void Daemon::UpdateCoalescingGrain() {
  double rate = 0;
  for (const auto& service : services_) {
    for (const auto& check : service->checks()) rate += check->rate();
  }
  loop_.set_coalescing_grain(Check::CoalescingGrain(rate));
}

}  // namespace watchd
