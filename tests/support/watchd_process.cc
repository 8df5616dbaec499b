#include "tests/support/watchd_process.h"

#include "tests/support/net.h"
#include "tests/support/wait.h"

namespace watchd::testing {

std::string WatchdBinary() { return BinaryPath("watchd"); }

WatchdProcess::WatchdProcess(const std::string& services_yaml,
                             const std::string& extra_yaml,
                             const std::string& daemon_yaml)
    : config_path_(dir_.File("watchd.yaml")),
      log_path_(dir_.File("watchd.log")),
      metrics_port_(FreePort()) {
  Rewrite(services_yaml, extra_yaml, daemon_yaml);
}

bool WatchdProcess::Rewrite(const std::string& services_yaml,
                            const std::string& extra_yaml,
                            const std::string& daemon_yaml) {
  // Each default key unless `daemon_yaml` sets it.
  std::string config = "daemon:\n";
  auto key = [&](const std::string& name, const std::string& value) {
    if (daemon_yaml.find("  " + name + ":") == std::string::npos) {
      config += "  " + name + ": " + value + "\n";
    }
  };
  key("metrics_listen", "127.0.0.1:" + std::to_string(metrics_port_));
  key("control_socket", dir_.File("control.sock"));
  key("state_file", dir_.File("state.json"));
  key("log_level", "debug");
  config += daemon_yaml + extra_yaml + "services:\n" + services_yaml;
  // Replaced whole: a reload never reads a half-written file.
  return ReplaceFile(config_path_, config);
}

WatchdProcess::~WatchdProcess() { process_.Stop(); }

bool WatchdProcess::Start() {
  if (!process_.Start({WatchdBinary(), "-c", config_path_}, log_path_)) {
    return false;
  }
  return WaitFor(
             [this] { return !process_.running() || !ScrapeText().empty(); },
             std::chrono::seconds(20)) &&
         process_.running();
}

std::string WatchdProcess::Log() const { return ReadFile(log_path_); }

std::string WatchdProcess::ScrapeText() const {
  int status = 0;
  auto body = HttpGet(metrics_port_, "/metrics", &status);
  if (!body || status != 200) return "";
  return *body;
}

std::vector<Sample> WatchdProcess::Scrape() const {
  return ParseMetrics(ScrapeText());
}

bool WatchdProcess::WaitForMetric(
    const std::string& name, const std::map<std::string, std::string>& labels,
    double value, std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        auto v = FindMetric(Scrape(), name, labels);
        return v && *v == value;
      },
      timeout, std::chrono::milliseconds(50));
}

bool WatchdProcess::WaitForLog(const std::string& text,
                               std::chrono::milliseconds timeout) {
  return WaitFor([&] { return Log().find(text) != std::string::npos; }, timeout,
                 std::chrono::milliseconds(50));
}

}  // namespace watchd::testing
