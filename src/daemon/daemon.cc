#include "daemon/daemon.h"

#include <grp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <string.h>

#include <algorithm>
#include <array>
#include <optional>
#include <random>

#include "actions/supervisor.h"
#include "control/control_server.h"
#include "core/version.h"
#include "daemon/check_reporter.h"
#include "daemon/control_commands.h"
#include "daemon/log_setup.h"
#include "daemon/probe_factory.h"
#include "daemon/service_reporter.h"
#include "daemon/state_keeper.h"
#include "daemon/systemd_notifier.h"
#include "health/service.h"
#include "metrics/metrics.h"
#include "net/curl_multi.h"
#include "net/resolver_pool.h"
#include "notify/notifier.h"
#include "os/process_table.h"

namespace watchd {
namespace {

// How often a stopping daemon looks whether its restarts have ended.
constexpr Duration kDrainPoll = std::chrono::milliseconds(100);
// How long a stopping daemon waits for its last notifications (`stopping`
// among them) to be delivered.
constexpr Duration kNotifyFlushLimit = std::chrono::seconds(5);

// "web, db": the services whose restart has not ended.
std::string RestartsInFlight(
    const std::vector<std::unique_ptr<Service>>& services) {
  std::string names;
  for (const auto& service : services) {
    if (!service->restart_info().in_flight) continue;
    names += (names.empty() ? "" : ", ") + service->name();
  }
  return names;
}

}  // namespace

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      random_(std::random_device{}()),
      drain_timer_([this] { DrainStep(); }) {}

Daemon::~Daemon() {
  // Services first: their probes and calls hold curl handles, resolver
  // requests and supervisor state.
  services_.clear();
  supervisors_.clear();
}

Status Daemon::Init() {
  Status s = loop_.Init();
  if (!s.ok()) return s;
  notifier_ = std::make_unique<SystemdNotifier>(
      &loop_, SystemdNotifier::SdNotifySender(),
      [this] { return StatusSummary(); });
  // Before any thread starts, so all of them inherit the blocked mask.
  // Every signal an operator, logrotate or a stray script may send: their
  // default action would end watchd without a word.
  s = loop_.HandleSignals(
      {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGQUIT},
      [this](int signo) { OnSignal(signo); });
  if (!s.ok()) return s;
  // First: a second watchd on the same socket is refused before it binds
  // or asks anything.
  s = StartControl();
  if (!s.ok()) return s;

  auto metrics = Metrics::Create(config_.daemon.metrics_listen, WATCHD_VERSION);
  if (!metrics.ok()) return metrics.status();
  metrics_ = std::move(metrics).value();

  auto curl = CurlMulti::Create(&loop_);
  if (!curl.ok()) return curl.status();
  curl_ = std::move(curl).value();
  resolvers_ = std::make_unique<ResolverPool>(&loop_);
  auto notifications =
      Notifier::Create(config_.notify, &loop_, curl_.get(), metrics_.get());
  if (!notifications.ok()) return notifications.status();
  notifications_ = std::move(notifications).value();

  s = BuildServices();
  if (!s.ok()) return s;
  s = CheckPrograms();
  if (!s.ok()) return s;
  size_t count = 0;
  double rate = 0;
  for (auto& service : services_) {
    for (const auto& check : service->checks()) rate += check->rate();
    count += service->checks().size();
  }
  loop_.set_coalescing_grain(Check::CoalescingGrain(rate));
  if (!config_.daemon.state_file.empty()) {
    state_ = std::make_unique<StateKeeper>(config_.daemon.state_file, &loop_,
                                           &services_);
    state_->Restore();
  }
  for (auto& service : services_) service->Start();
  metrics_->SetConfigReloadSuccessful(true);

  if (!config_.daemon.metrics_listen.empty()) {
    spdlog::info("metrics on http://{}/metrics", config_.daemon.metrics_listen);
  }
  spdlog::info("watchd {} watching {} services with {} checks from {}",
               WATCHD_VERSION, services_.size(), count, config_path_);
  notifications_->PostDaemonEvent(
      NotifyEvent::kStarted,
      "watchd " WATCHD_VERSION " watching " + std::to_string(services_.size()) +
          " services with " + std::to_string(count) + " checks");

  if (auto timeout = SystemdNotifier::WatchdogTimeoutFromEnvironment()) {
    notifier_->StartWatchdog(*timeout);
  }
  notifier_->Ready();
  return Status::Ok();
}

Status Daemon::BuildServices() {
  for (const auto& [name, config] : config_.supervisors) {
    auto supervisor = MakeSupervisor(config, &loop_, curl_.get());
    if (!supervisor.ok()) {
      return Status::Error("supervisor " + name + ": " +
                           supervisor.status().message());
    }
    supervisors_[name] = std::move(supervisor).value();
  }
  // Dependencies are wired after every service exists; the configs are
  // moved into their services, so their names are kept aside here.
  std::map<std::string, Service*> by_name;
  std::vector<std::pair<Service*, std::vector<std::string>>> depends;
  for (ServiceConfig& config : config_.services) {
    Supervisor* supervisor = nullptr;
    if (config.supervisor)
      supervisor = supervisors_.at(*config.supervisor).get();
    service_reporters_.push_back(std::make_unique<ServiceReporter>(
        metrics_.get(), config.name, notifier_.get(), notifications_.get()));
    notifications_->SetServiceTargets(config.name, config.notify);
    std::vector<CheckConfig> checks = std::move(config.checks);
    std::vector<std::string> depends_on = config.depends_on;
    services_.push_back(std::make_unique<Service>(
        std::move(config), supervisor, &loop_, &random_,
        service_reporters_.back().get(), SystemProcessTable()));
    Service* service = services_.back().get();
    by_name[service->name()] = service;
    depends.emplace_back(service, std::move(depends_on));
    ProbeEnv env{&loop_, curl_.get(), resolvers_.get(), service, &sockets_};
    for (const CheckConfig& check : checks) {
      auto probe = MakeProbe(check.probe, env);
      if (!probe.ok()) {
        return Status::Error(check.location.file + ":" +
                             std::to_string(check.location.line) + ":" +
                             std::to_string(check.location.column) +
                             ": check " + service->name() + "/" + check.name +
                             ": " + probe.status().message());
      }
      check_reporters_.push_back(std::make_unique<CheckReporter>(
          metrics_.get(), service->name(), check.name,
          ProbeKindName(check.probe)));
      service->AddCheck(check, std::move(probe).value(),
                        check_reporters_.back().get());
    }
  }
  for (auto& [service, names] : depends) {
    std::vector<Service*> dependencies;
    for (const std::string& d : names) dependencies.push_back(by_name.at(d));
    service->SetDependencies(dependencies);
  }
  // What is left of the parsed services is moved-from husks.
  config_.services = {};
  return Status::Ok();
}

Status Daemon::CheckPrograms() {
  struct Ask {
    const Service* service;
    std::unique_ptr<SupervisorCall> call;
    std::optional<StatusReply> reply;
  };
  std::vector<std::unique_ptr<Ask>> asks;
  Duration limit = Duration::zero();
  for (const auto& [name, config] : config_.supervisors) {
    limit = std::max(limit, config.timeout);
  }
  for (const auto& service : services_) {
    Supervisor* supervisor = service->supervisor();
    if (supervisor == nullptr || !supervisor->reports_pid()) continue;
    auto ask = std::make_unique<Ask>();
    ask->service = service.get();
    Ask* raw = ask.get();
    ask->call = supervisor->GetStatusReply(
        {service->name(), service->config().program, 0},
        [raw](StatusReply reply) { raw->reply = std::move(reply); });
    asks.push_back(std::move(ask));
  }
  const TimePoint deadline = loop_.Now() + limit;
  auto answered = [&] {
    return std::all_of(asks.begin(), asks.end(),
                       [](const auto& a) { return a->reply.has_value(); });
  };
  while (!answered() && loop_.Now() < deadline) {
    loop_.RunOnce(std::chrono::milliseconds(100));
  }
  std::string errors;
  for (const auto& ask : asks) {
    const ServiceConfig& c = ask->service->config();
    if (!ask->reply) {
      spdlog::warn("service {}: its supervisor did not answer at start",
                   c.name);
    } else if (ask->reply->unknown_program) {
      errors += (errors.empty() ? "" : "\n") + c.location.file + ":" +
                std::to_string(c.location.line) + ":" +
                std::to_string(c.location.column) + ": service " + c.name +
                ": " + ask->reply->status.status().message();
    } else if (!ask->reply->status.ok()) {
      spdlog::warn("service {}: cannot ask its supervisor at start: {}", c.name,
                   ask->reply->status.status().message());
    }
  }
  return errors.empty() ? Status::Ok() : Status::Error(errors);
}

Status Daemon::StartControl() {
  const DaemonConfig& d = config_.daemon;
  if (d.control_socket.empty()) return Status::Ok();
  ControlServer::Options options;
  options.path = d.control_socket;
  if (d.control_group) {
    group* g = getgrnam(d.control_group->c_str());
    if (g == nullptr) {
      return Status::Error("control_group: no group '" + *d.control_group +
                           "'");
    }
    options.group = g->gr_gid;
  }
  ControlCommands::Context context;
  context.loop = &loop_;
  context.services = &services_;
  context.supervisors = &config_.supervisors;
  context.config_path = config_path_;
  control_commands_ = std::make_unique<ControlCommands>(std::move(context));
  control_ = std::make_unique<ControlServer>(
      &loop_, std::move(options),
      [this](const ControlPeer& peer, const std::string& line,
             ControlServer::Responder responder) {
        control_commands_->Handle(peer, line, std::move(responder));
      });
  Status s = control_->Listen();
  if (!s.ok()) return Status::Error("control socket: " + s.message());
  spdlog::info("control socket on {}", d.control_socket);
  return Status::Ok();
}

std::string Daemon::StatusSummary() const {
  std::array<size_t, kServiceStateCount> counts{};
  for (const auto& service : services_) {
    ++counts[static_cast<size_t>(service->state())];
  }
  return StatusLine(counts);
}

void Daemon::OnSignal(int signo) {
  switch (signo) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
      BeginStop(signo);
      break;
    case SIGHUP:
      spdlog::warn(
          "SIGHUP: configuration reload is not supported yet; "
          "restart watchd to apply changes");
      break;
    case SIGUSR1:
      // logrotate's postrotate: the file was moved away.
      if (config_.daemon.log_file.empty()) {
        spdlog::warn("received {}: ignored (no log_file to reopen)",
                     strsignal(signo));
      } else if (Status r = ReopenLogFile(); r.ok()) {
        spdlog::info("received {}: reopened {}", strsignal(signo),
                     config_.daemon.log_file);
      } else {
        spdlog::error("received {}: {}; still logging to the old file",
                      strsignal(signo), r.message());
      }
      break;
    default:
      spdlog::warn("received {}: ignored", strsignal(signo));
      break;
  }
}

void Daemon::BeginStop(int signo) {
  if (stopping_) {
    const std::string busy = RestartsInFlight(services_);
    spdlog::warn("received {} again: stopping now{}", strsignal(signo),
                 busy.empty() ? "" : ", abandoning the restart of " + busy);
    loop_.Stop();
    return;
  }
  stopping_ = true;
  spdlog::info("received {}, stopping", strsignal(signo));
  notifications_->PostDaemonEvent(NotifyEvent::kStopping,
                                  std::string("received ") + strsignal(signo));
  for (auto& service : services_) service->Drain();
  const std::string busy = RestartsInFlight(services_);
  notifier_->Stopping(busy.empty()
                          ? "stopping"
                          : "stopping: waiting for the restart of " + busy);
  if (!busy.empty()) {
    // Each call ends by its supervisor's timeout; a failed one is judged
    // by one more look at the process, bounded by the same.
    Duration limit = Duration::zero();
    for (const auto& [name, supervisor] : config_.supervisors) {
      limit = std::max(limit, supervisor.timeout);
    }
    limit *= 2;
    drain_deadline_ = loop_.Now() + limit;
    spdlog::info(
        "waiting up to {} for the restart of {} to finish (signal again to "
        "stop at once)",
        FormatDuration(limit), busy);
  }
  DrainStep();
}

void Daemon::DrainStep() {
  const std::string busy = RestartsInFlight(services_);
  if (busy.empty()) {
    loop_.Stop();
    return;
  }
  if (loop_.Now() >= drain_deadline_) {
    spdlog::warn("stopping without waiting longer for the restart of {}", busy);
    loop_.Stop();
    return;
  }
  loop_.ScheduleAfter(&drain_timer_, kDrainPoll);
}

int Daemon::Run() {
  loop_.Run();
  for (auto& service : services_) service->Stop();
  if (state_) state_->Close();
  notifications_->Flush(kNotifyFlushLimit);
  return 0;
}

}  // namespace watchd
