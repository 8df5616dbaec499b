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
#include "control/protocol.h"
#include "core/version.h"
#include "daemon/check_reporter.h"
#include "daemon/control_commands.h"
#include "daemon/log_setup.h"
#include "daemon/probe_factory.h"
#include "daemon/service_reporter.h"
#include "daemon/state_keeper.h"
#include "daemon/status_page.h"
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

}  // namespace

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      random_(std::random_device{}()),
      reload_timer_([this] { ReloadStep(); }),
      drain_timer_([this] { DrainStep(); }) {}

Daemon::~Daemon() {
  // Its result task, if queued, goes with the loop unrun.
  if (reload_thread_.joinable()) reload_thread_.join();
  // Services first: their probes and calls hold curl handles, resolver
  // requests and supervisor state.
  successors_.clear();
  retiring_.clear();
  services_.clear();
  old_supervisors_.clear();
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

  // The status page at / reads the services in a task on the loop, the
  // only thread that may; the metrics server's threads wait for it.
  auto metrics = Metrics::Create(
      config_.daemon.metrics_listen, WATCHD_VERSION,
      StatusPageAsker(&loop_, &services_, &config_.supervisors));
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
  for (auto& service : services_) count += service->checks().size();
  UpdateCoalescingGrain();
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
  for (const ServiceConfig& config : config_.services) {
    Supervisor* supervisor = nullptr;
    if (config.supervisor)
      supervisor = supervisors_.at(*config.supervisor).get();
    Unit unit;
    auto service = MakeService(config, supervisor, nullptr, &unit);
    if (!service.ok()) return service.status();
    notifications_->SetServiceTargets(config.name, config.notify);
    units_[config.name] = std::move(unit);
    services_.push_back(std::move(service).value());
  }
  Rewire();
  // The services keep their own settings; the daemon's are kept here.
  config_.services = {};
  return Status::Ok();
}

Result<std::unique_ptr<Service>> Daemon::MakeService(
    const ServiceConfig& config, Supervisor* supervisor,
    std::shared_ptr<ServiceReporter> reporter, Unit* unit) {
  if (!reporter) {
    reporter = std::make_shared<ServiceReporter>(
        metrics_.get(), config.name, notifier_.get(), notifications_.get());
  }
  unit->reporter = reporter;
  // One copy of the definition, shared by the service and the unit.
  unit->definition = std::make_shared<const ServiceConfig>(config);
  auto service =
      std::make_unique<Service>(unit->definition, supervisor, &loop_, &random_,
                                reporter.get(), SystemProcessTable());
  for (const CheckConfig& check : config.checks) {
    std::unique_ptr<Probe> probe;
    std::unique_ptr<CheckReporter> check_reporter;
    Status s = MakeCheck(service.get(), check, &probe, &check_reporter);
    if (!s.ok()) return s;
    service->AddCheck(check, std::move(probe), check_reporter.get());
    unit->check_reporters[check.name] = std::move(check_reporter);
  }
  return service;
}

Status Daemon::MakeCheck(Service* service, const CheckConfig& check,
                         std::unique_ptr<Probe>* probe,
                         std::unique_ptr<CheckReporter>* reporter) {
  ProbeEnv env{&loop_, curl_.get(), resolvers_.get(), service, &sockets_};
  auto made = MakeProbe(check.probe, env);
  if (!made.ok()) {
    return Status::Error(
        check.location.file + ":" + std::to_string(check.location.line) + ":" +
        std::to_string(check.location.column) + ": check " + service->name() +
        "/" + check.name + ": " + made.status().message());
  }
  *probe = std::move(made).value();
  *reporter = std::make_unique<CheckReporter>(
      metrics_.get(), service->name(), check.name, ProbeKindName(check.probe));
  return Status::Ok();
}

void Daemon::Rewire() {
  const auto by_name = ServicesByName();
  for (auto& service : services_) {
    std::vector<Service*> dependencies;
    for (const std::string& name : service->config().depends_on) {
      // Validation has made sure each exists.
      if (auto d = by_name.find(name); d != by_name.end()) {
        dependencies.push_back(d->second);
      }
    }
    service->SetDependencies(dependencies);
  }
}

std::map<std::string, Service*, std::less<>> Daemon::ServicesByName() const {
  std::map<std::string, Service*, std::less<>> by_name;
  for (const auto& service : services_) {
    by_name.emplace(service->name(), service.get());
  }
  return by_name;
}

Service* Daemon::FindService(const std::string& name) const {
  for (const auto& service : services_) {
    if (service->name() == name) return service.get();
  }
  return nullptr;
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
  context.services_generation = &services_generation_;
  context.supervisors = &config_.supervisors;
  context.config_path = config_path_;
  context.reload = [this](ControlServer::Responder responder) {
    Reload([this, responder](const Status& s) mutable {
      if (!s.ok()) {
        responder.Send(ErrorReply(kErrFailed, s.message()));
        return;
      }
      nlohmann::json body;
      body["message"] = "reloaded " + config_path_ + ": " +
                        std::to_string(services_.size()) + " services";
      responder.Send(OkReply(std::move(body)));
    });
  };
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
      spdlog::info("received {}: reloading {}", strsignal(signo), config_path_);
      Reload(nullptr);  // logs its outcome
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
    const std::string busy = RestartsInFlight();
    spdlog::warn("received {} again: stopping now{}", strsignal(signo),
                 busy.empty() ? "" : ", abandoning the restart of " + busy);
    loop_.Stop();
    return;
  }
  stopping_ = true;
  spdlog::info("received {}, stopping", strsignal(signo));
  notifications_->PostDaemonEvent(NotifyEvent::kStopping,
                                  std::string("received ") + strsignal(signo));
  successors_.clear();
  for (auto& service : services_) service->Drain();
  const std::string busy = RestartsInFlight();
  notifier_->Stopping(busy.empty()
                          ? "stopping"
                          : "stopping: waiting for the restart of " + busy);
  if (!busy.empty()) {
    const Duration limit = RestartBound();
    drain_deadline_ = loop_.Now() + limit;
    spdlog::info(
        "waiting up to {} for the restart of {} to finish (signal again to "
        "stop at once)",
        FormatDuration(limit), busy);
  }
  DrainStep();
}

void Daemon::DrainStep() {
  const std::string busy = RestartsInFlight();
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

Duration Daemon::RestartBound() const {
  Duration limit = Duration::zero();
  for (const auto& [name, supervisor] : config_.supervisors) {
    limit = std::max(limit, supervisor.timeout);
  }
  return 2 * limit;
}

std::string Daemon::RestartsInFlight() const {
  std::string names;
  auto add = [&](const Service& service) {
    if (!service.restart_info().in_flight) return;
    names += (names.empty() ? "" : ", ") + service.name();
  };
  for (const auto& service : services_) add(*service);
  for (const Parked& parked : retiring_) add(*parked.service);
  return names;
}

int Daemon::Run() {
  loop_.Run();
  for (auto& service : services_) service->Stop();
  for (Parked& parked : retiring_) parked.service->Stop();
  if (state_) state_->Close();
  notifications_->Flush(kNotifyFlushLimit);
  return 0;
}

}  // namespace watchd
