#include "tests/support/supervision_e2e.h"

#include <stdio.h>
#include <time.h>

#include <cstdlib>

#include "os/procfs.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string Url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

std::vector<std::string> WebApp(int port,
                                const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   SourcePath("tests/servers/web_app.py"),
                                   "--port", std::to_string(port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::string SupervisordSection(const std::string& url) {
  return "supervisors:\n  main: {type: supervisord, url: \"" + url + "\"}\n";
}

// A service of supervisor `main` with short timings; `extra` holds more
// service keys (indented four spaces), `checks` its check entries.
std::string Service(const std::string& name, const std::string& checks,
                    const std::string& stop_timeout,
                    const std::string& start_grace, const std::string& extra) {
  return "  " + name + ":\n    supervisor: main\n    program: " + name +
         "\n    start_grace: " + start_grace +
         "\n    stop_timeout: " + stop_timeout +
         "\n    restart_backoff: {initial: 200ms, max: 2s}\n" + extra +
         "    checks:\n" + checks;
}

std::string HttpCheck(const std::string& name, const std::string& url,
                      const std::string& on_failure) {
  return "      " + name + ":\n        http: {url: \"" + url +
         "\"}\n        interval: 500ms\n        timeout: 500ms\n"
         "        failures: 3\n        on_failure: " +
         on_failure + "\n";
}

std::string ProcessCheck(const std::string& name) {
  return "      " + name +
         ":\n        process: {}\n        interval: 500ms\n"
         "        failures: 3\n";
}

// The sum of every sample of `name` whose labels include `labels` (a
// counter with one series per reason, none before the first increment).
double Sum(const std::vector<Sample>& samples, const std::string& name,
           const Labels& labels) {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      match = match && it != s.labels.end() && it->second == v;
    }
    if (match) sum += s.value;
  }
  return sum;
}

double Restarts(const WatchdProcess& watchd, const std::string& service) {
  return Sum(watchd.Scrape(), "watchd_restarts_total", {{"service", service}});
}

double RestartFailures(const WatchdProcess& watchd,
                       const std::string& service) {
  return Sum(watchd.Scrape(), "watchd_restart_failures_total",
             {{"service", service}});
}

bool WaitForState(WatchdProcess& watchd, const std::string& service,
                  const std::string& state) {
  return watchd.WaitForMetric("watchd_service_state",
                              {{"service", service}, {"state", state}}, 1,
                              kDeadline);
}

// The offset of the first line holding every part among the lines that
// start at or after `from` (so `at + 1` skips the line found at `at`), or
// npos.
size_t FindLine(const std::string& log, const std::vector<std::string>& parts,
                size_t from) {
  size_t begin = 0;
  if (from > 0) {
    begin = log.find('\n', from - 1);
    if (begin == std::string::npos) return std::string::npos;
    ++begin;
  }
  while (begin < log.size()) {
    size_t end = log.find('\n', begin);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(begin, end - begin);
    bool all = true;
    for (const std::string& p : parts) {
      all = all && line.find(p) != std::string::npos;
    }
    if (all) return begin;
    begin = end + 1;
  }
  return std::string::npos;
}

bool HasLine(const std::string& log, const std::vector<std::string>& parts) {
  return FindLine(log, parts) != std::string::npos;
}

size_t Count(const std::string& log, const std::string& text) {
  size_t n = 0;
  for (size_t at = log.find(text); at != std::string::npos;
       at = log.find(text, at + 1)) {
    ++n;
  }
  return n;
}

// The log timestamp (YYYY-MM-DDTHH:MM:SS.mmm, read as UTC: only differences
// matter) of every line holding every part.
std::vector<milliseconds> LineTimes(const std::string& log,
                                    const std::vector<std::string>& parts) {
  std::vector<milliseconds> times;
  for (size_t at = FindLine(log, parts); at != std::string::npos;
       at = FindLine(log, parts, at + 1)) {
    tm t = {};
    int ms = 0;
    if (sscanf(log.c_str() + at, "%d-%d-%dT%d:%d:%d.%d", &t.tm_year, &t.tm_mon,
               &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec, &ms) != 7) {
      continue;
    }
    t.tm_year -= 1900;
    t.tm_mon -= 1;
    times.push_back(seconds(timegm(&t)) + milliseconds(ms));
  }
  return times;
}

bool WaitForLine(const WatchdProcess& watchd,
                 const std::vector<std::string>& parts) {
  return WaitFor([&] { return HasLine(watchd.Log(), parts); }, kDeadline,
                 milliseconds(50));
}

// Whether every group of parts appears on its own line, in this order.
::testing::AssertionResult LinesInOrder(
    const std::string& log, const std::vector<std::vector<std::string>>& seq) {
  size_t at = 0;
  for (const auto& parts : seq) {
    at = FindLine(log, parts, at);
    if (at == std::string::npos) {
      std::string joined;
      for (const auto& p : parts) joined += "[" + p + "]";
      return ::testing::AssertionFailure()
             << "no line with " << joined << " in order in:\n"
             << log;
    }
    ++at;
  }
  return ::testing::AssertionSuccess();
}

pid_t AppPid(int port) {
  int status = 0;
  auto body = HttpGet(port, "/pid", &status);
  return body && status == 200 ? std::atoi(body->c_str()) : 0;
}

bool Gone(pid_t pid) {
  auto st = ReadProcStat(pid);
  return !st.ok() || st->state == 'Z' || st->state == 'X';
}

// Whether `service` comes to be ok with `check` passing.
::testing::AssertionResult Settled(WatchdProcess& watchd,
                                   const std::string& service,
                                   const std::string& check) {
  if (!watchd.WaitForMetric("watchd_check_up",
                            {{"service", service}, {"check", check}}, 1,
                            kDeadline) ||
      !WaitForState(watchd, service, "ok")) {
    return ::testing::AssertionFailure() << service << " did not settle:\n"
                                         << watchd.Log();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace watchd::testing
