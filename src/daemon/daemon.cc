#include "daemon/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "core/version.h"
#include "daemon/check_reporter.h"
#include "daemon/probe_factory.h"
#include "health/check.h"
#include "metrics/metrics.h"
#include "net/curl_multi.h"
#include "net/resolver_pool.h"

namespace watchd {

Daemon::Daemon(Config config, std::string config_path)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      random_(std::random_device{}()),
      watchdog_timer_([this] { NotifyWatchdog(); }) {}

Daemon::~Daemon() {
  // Checks first: their probes hold curl handles and resolver requests.
  checks_.clear();
  reporters_.clear();
}

Status Daemon::Init() {
  Status s = loop_.Init();
  if (!s.ok()) return s;
  // Before any thread starts, so all of them inherit the blocked mask.
  s = loop_.HandleSignals({SIGTERM, SIGINT, SIGHUP},
                          [this](int signo) { OnSignal(signo); });
  if (!s.ok()) return s;

  auto metrics = Metrics::Create(config_.daemon.metrics_listen, WATCHD_VERSION);
  if (!metrics.ok()) return metrics.status();
  metrics_ = std::move(metrics).value();

  auto curl = CurlMulti::Create(&loop_);
  if (!curl.ok()) return curl.status();
  curl_ = std::move(curl).value();
  resolvers_ = std::make_unique<ResolverPool>(&loop_);

  ProbeEnv env{&loop_, curl_.get(), resolvers_.get()};
  size_t count = 0;
  for (const ServiceConfig& service : config_.services) {
    for (const CheckConfig& check : service.checks) {
      auto probe = MakeProbe(check.probe, env);
      if (!probe.ok()) {
        return Status::Error(
            check.location.file + ":" + std::to_string(check.location.line) +
            ":" + std::to_string(check.location.column) + ": check " +
            service.name + "/" + check.name + ": " + probe.status().message());
      }
      reporters_.push_back(std::make_unique<CheckReporter>(
          metrics_.get(), service.name, check.name,
          ProbeKindName(check.probe)));
      checks_.push_back(
          std::make_unique<Check>(service.name, check, std::move(probe).value(),
                                  &loop_, &random_, reporters_.back().get()));
      ++count;
    }
  }
  for (auto& check : checks_) check->Start();
  metrics_->SetConfigReloadSuccessful(true);

  if (!config_.daemon.metrics_listen.empty()) {
    spdlog::info("metrics on http://{}/metrics", config_.daemon.metrics_listen);
  }
  spdlog::info("watchd {} watching {} services with {} checks from {}",
               WATCHD_VERSION, config_.services.size(), count, config_path_);

  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_interval_ = std::chrono::microseconds(usec / 2);
    loop_.ScheduleAfter(&watchdog_timer_, watchdog_interval_);
  }
  sd_notify(0, "READY=1");
  return Status::Ok();
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
      spdlog::info("received {}, stopping", strsignal(signo));
      sd_notify(0, "STOPPING=1");
      loop_.Stop();
      break;
    case SIGHUP:
      spdlog::warn(
          "SIGHUP: configuration reload is not supported yet; "
          "restart watchd to apply changes");
      break;
  }
}

int Daemon::Run() {
  loop_.Run();
  for (auto& check : checks_) check->Stop();
  return 0;
}

}  // namespace watchd
