// The real watchd binary run by an end-to-end test on a config it writes,
// with its log captured and its /metrics scraped over HTTP.
#ifndef WATCHD_TESTS_SUPPORT_WATCHD_PROCESS_H_
#define WATCHD_TESTS_SUPPORT_WATCHD_PROCESS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/metrics_text.h"
#include "tests/support/subprocess.h"

namespace watchd::testing {

class WatchdProcess {
 public:
  // `services_yaml` is the `services:` section's body (indented two
  // spaces); a daemon section with a free metrics port is added.
  // `daemon_yaml`: more keys of the daemon section (indented two spaces);
  // a key it sets replaces the default (metrics_listen, control_socket,
  // state_file, log_level).
  explicit WatchdProcess(const std::string& services_yaml,
                         const std::string& extra_yaml = "",
                         const std::string& daemon_yaml = "");
  ~WatchdProcess();
  // Writes the config again, as the constructor does (same daemon section
  // and ports), for a reload to read.
  bool Rewrite(const std::string& services_yaml,
               const std::string& extra_yaml = "",
               const std::string& daemon_yaml = "");

  // Starts watchd and waits until /metrics answers.
  bool Start();
  // Environment for Start (see Subprocess::SetEnv): NOTIFY_SOCKET,
  // WATCHDOG_USEC with WATCHDOG_PID, JOURNAL_STREAM.
  void SetEnv(std::vector<std::string> env, std::string pid_variable = "") {
    process_.SetEnv(std::move(env), std::move(pid_variable));
  }
  const std::string& log_path() const { return log_path_; }
  void Stop() { process_.Stop(); }
  Subprocess& process() { return process_; }
  int metrics_port() const { return metrics_port_; }
  const std::string& config_path() const { return config_path_; }
  std::string control_socket() const { return dir_.File("control.sock"); }
  const std::string& dir() const { return dir_.path(); }
  std::string Log() const;
  // Scraped text, or "" if the scrape failed.
  std::string ScrapeText() const;
  std::vector<Sample> Scrape() const;
  // Waits until a scrape shows `name{labels}` == value.
  bool WaitForMetric(const std::string& name,
                     const std::map<std::string, std::string>& labels,
                     double value, std::chrono::milliseconds timeout);
  // Waits until the log contains `text`.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout);

 private:
  TempDir dir_;
  std::string config_path_;
  std::string log_path_;
  int metrics_port_;
  Subprocess process_;
};

// Path of the built watchd binary.
std::string WatchdBinary();

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_WATCHD_PROCESS_H_
