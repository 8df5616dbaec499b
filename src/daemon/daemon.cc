#include "daemon/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <optional>
#include <random>

#include "actions/supervisor.h"
#include "core/version.h"
#include "daemon/check_reporter.h"
#include "daemon/probe_factory.h"
#include "daemon/service_reporter.h"
#include "health/service.h"
#include "metrics/metrics.h"
#include "net/curl_multi.h"
#include "net/resolver_pool.h"
#include "os/process_table.h"

namespace watchd {

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      random_(std::random_device{}()),
      watchdog_timer_([this] { NotifyWatchdog(); }) {}

Daemon::~Daemon() {
  // Services first: their probes and calls hold curl handles, resolver
  // requests and supervisor state.
  services_.clear();
  supervisors_.clear();
}

Status Daemon::Init() {
  Status s = loop_.Init();
  if (!s.ok()) return s;
  // Before any thread starts, so all of them inherit the blocked mask.
  // Every signal an operator, logrotate or a stray script may send: their
  // default action would end watchd without a word.
  s = loop_.HandleSignals(
      {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGQUIT},
      [this](int signo) { OnSignal(signo); });
  if (!s.ok()) return s;

  auto metrics = Metrics::Create(config_.daemon.metrics_listen, WATCHD_VERSION);
  if (!metrics.ok()) return metrics.status();
  metrics_ = std::move(metrics).value();

  auto curl = CurlMulti::Create(&loop_);
  if (!curl.ok()) return curl.status();
  curl_ = std::move(curl).value();
  resolvers_ = std::make_unique<ResolverPool>(&loop_);

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
  for (auto& service : services_) service->Start();
  metrics_->SetConfigReloadSuccessful(true);

  if (!config_.daemon.metrics_listen.empty()) {
    spdlog::info("metrics on http://{}/metrics", config_.daemon.metrics_listen);
  }
  spdlog::info("watchd {} watching {} services with {} checks from {}",
               WATCHD_VERSION, services_.size(), count, config_path_);

  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
    loop_.ScheduleAfter(&watchdog_timer_, watchdog_interval_);
  }
  sd_notify(0, "READY=1");
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
    service_reporters_.push_back(
        std::make_unique<ServiceReporter>(metrics_.get(), config.name));
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

void Daemon::NotifyWatchdog() {
  // Sent from the loop itself: a stuck loop stops the pings and systemd
  // restarts watchd.
  sd_notify(0, "WATCHDOG=1");
  loop_.ScheduleAfter(&watchdog_timer_, watchdog_interval_);
}

void Daemon::OnSignal(int signo) {
  switch (signo) {
    case SIGTERM:
    case SIGINT:
    case SIGQUIT:
      spdlog::info("received {}, stopping", strsignal(signo));
      sd_notify(0, "STOPPING=1");
      loop_.Stop();
      break;
    case SIGHUP:
      spdlog::warn(
          "SIGHUP: configuration reload is not supported yet; "
          "restart watchd to apply changes");
      break;
    default:
      spdlog::warn("received {}: ignored", strsignal(signo));
      break;
  }
}

int Daemon::Run() {
  loop_.Run();
  for (auto& service : services_) service->Stop();
  return 0;
}

}  // namespace watchd
