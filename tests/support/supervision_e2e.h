// Shared pieces of the end-to-end supervision tests: config snippets for a
// service of a supervisord `main`, metric sums, and waiting on log lines.
#ifndef WATCHD_TESTS_SUPPORT_SUPERVISION_E2E_H_
#define WATCHD_TESTS_SUPPORT_SUPERVISION_E2E_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/support/metrics_text.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {

using Labels = std::map<std::string, std::string>;

// Deadlines for a loaded 2-core machine (and the ASan build); the checks
// run every 500ms and act after 3 misses, so each step normally takes a
// few seconds.
inline constexpr auto kDeadline = std::chrono::seconds(60);

std::string Url(int port, const std::string& path);
// tests/servers/web_app.py on `port`, with more of its flags.
std::vector<std::string> WebApp(int port,
                                const std::vector<std::string>& extra = {});
std::string SupervisordSection(const std::string& url);
// A service of supervisor `main` with short timings; `extra` holds more
// service keys (indented four spaces), `checks` its check entries.
std::string Service(const std::string& name, const std::string& checks,
                    const std::string& stop_timeout = "10s",
                    const std::string& start_grace = "1s",
                    const std::string& extra = "");
// An http check every 500ms, 3 misses to fail.
std::string HttpCheck(const std::string& name, const std::string& url,
                      const std::string& on_failure = "restart");
std::string ProcessCheck(const std::string& name);

// The sum of every sample of `name` whose labels include `labels` (a
// counter with one series per reason, none before the first increment).
double Sum(const std::vector<Sample>& samples, const std::string& name,
           const Labels& labels);
double Restarts(const WatchdProcess& watchd, const std::string& service);
double RestartFailures(const WatchdProcess& watchd, const std::string& service);
bool WaitForState(WatchdProcess& watchd, const std::string& service,
                  const std::string& state);

// The offset of the first line holding every part among the lines that
// start at or after `from`, or npos.
size_t FindLine(const std::string& log, const std::vector<std::string>& parts,
                size_t from = 0);
bool HasLine(const std::string& log, const std::vector<std::string>& parts);
// How many times `text` occurs in `log`.
size_t Count(const std::string& log, const std::string& text);
// The log timestamp of every line holding every part (only differences
// matter).
std::vector<std::chrono::milliseconds> LineTimes(
    const std::string& log, const std::vector<std::string>& parts);
bool WaitForLine(const WatchdProcess& watchd,
                 const std::vector<std::string>& parts);
// Whether every group of parts appears on its own line, in this order.
::testing::AssertionResult LinesInOrder(
    const std::string& log, const std::vector<std::vector<std::string>>& seq);

// The pid web_app.py on `port` reports; 0 when it does not answer.
pid_t AppPid(int port);
// No such process, or a zombie.
bool Gone(pid_t pid);
// Whether `service` comes to be ok with `check` passing.
::testing::AssertionResult Settled(WatchdProcess& watchd,
                                   const std::string& service,
                                   const std::string& check);

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_SUPERVISION_E2E_H_
