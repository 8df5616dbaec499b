// The status page at / of the metrics listener: what `watchctl status`
// shows, as one server-rendered HTML page for a browser (Monit's web UI on
// :2812), read-only, refreshing itself, with no script.
//
// It is made in three steps, so that the event loop does the least:
// SnapshotStatusPage copies what the page shows out of the services (on
// the loop, the only thread that may read them); ReadProcesses adds
// uptime and memory from /proc, and RenderStatusPage writes the HTML (both
// on the metrics server's thread). StatusPageAsker wires them to the
// server.
#ifndef WATCHD_DAEMON_STATUS_PAGE_H_
#define WATCHD_DAEMON_STATUS_PAGE_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "metrics/scrape_server.h"

namespace watchd {

class EventLoop;
class Service;

// One check as the page shows it.
struct StatusPageCheck {
  std::string name;
  std::string kind;
  std::string state;              // pending, passing, failing
  bool restarts_service = false;  // on_failure: restart
  // The last run; nullopt before the first.
  struct Last {
    std::string result;  // success, failure, timeout, error
    std::string reason;
    double latency_seconds = 0;
    double age_seconds = 0;  // how long ago it ended
  };
  std::optional<Last> last;
};

// One service as the page shows it.
struct StatusPageService {
  std::string name;
  std::string state;  // a ServiceStateName
  std::string reason;
  double since_seconds = 0;  // how long it has been in `state`
  bool paused = false;
  // The recorded process (pid + start time); 0: none known.
  pid_t pid = 0;
  uint64_t start_time = 0;
  // From /proc (ReadProcesses), when the recorded process still runs.
  std::optional<double> uptime_seconds;
  std::optional<uint64_t> memory_bytes;
  // "main (supervisord), program web"; "" for a service only probed.
  std::string supervisor;
  int restarts_total = 0;
  int restarts_recent = 0;  // within restart_limit's window
  int restart_limit = 0;
  double restart_within_seconds = 0;
  bool restart_in_flight = false;
  // While a restart backoff runs: how long until the next may be asked.
  std::optional<double> next_restart_in_seconds;
  std::vector<std::string> depends_on;
  std::vector<StatusPageCheck> checks;
};

struct StatusPageData {
  std::string host;
  std::string version;
  int64_t pid = 0;
  double uptime_seconds = 0;
  // The wall clock when the data was taken: ages are counted back from it.
  std::chrono::system_clock::time_point now;
  // Every service, counted by state name; `services` may hold fewer.
  std::map<std::string, size_t> state_counts;
  size_t total_services = 0;
  std::vector<StatusPageService> services;
};

// The page shows at most this many services, the least healthy: at 10,000
// services a page of them all is ~15 MiB that a browser lays out again at
// every refresh, and the loop would copy them all every time.
inline constexpr size_t kStatusPageMaxServices = 1000;
// The page reloads itself this often.
inline constexpr int kStatusPageRefreshSeconds = 5;

// On the loop: copies every field the page shows of at most `max_services`
// services (the least healthy, then by name), and counts all of them by
// state. Header fields (host, version, pid, uptime) are the caller's.
StatusPageData SnapshotStatusPage(
    const std::vector<std::unique_ptr<Service>>& services,
    const std::map<std::string, SupervisorConfig>& supervisors, TimePoint now,
    size_t max_services = kStatusPageMaxServices);

// Off the loop: uptime and memory of each service's process from /proc,
// only when it is still the recorded process (same start time).
void ReadProcesses(StatusPageData* data);

// The whole page; services are shown worst state first, then by name.
// Every text from configs and the network is escaped.
std::string RenderStatusPage(const StatusPageData& data);

// `text` with & < > " ' as character references: safe in element content
// and in quoted attribute values.
std::string EscapeHtml(std::string_view text);

// Answers the metrics server's requests for /: a task on `loop` takes the
// snapshot, and the server's thread reads /proc and renders. `services`
// and `supervisors` are read on the loop at each request, so they may be
// replaced (a reload) between requests, and must outlive the loop's runs.
ScrapeServer::AskPage StatusPageAsker(
    EventLoop* loop, const std::vector<std::unique_ptr<Service>>* services,
    const std::map<std::string, SupervisorConfig>* supervisors);

}  // namespace watchd

#endif  // WATCHD_DAEMON_STATUS_PAGE_H_
