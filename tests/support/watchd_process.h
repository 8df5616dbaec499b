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
  explicit WatchdProcess(const std::string& services_yaml,
                         const std::string& extra_yaml = "");
  ~WatchdProcess();

  // Starts watchd and waits until /metrics answers.
  bool Start();
  void Stop() { process_.Stop(); }
  Subprocess& process() { return process_; }
  int metrics_port() const { return metrics_port_; }
  const std::string& config_path() const { return config_path_; }
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
