// The typed configuration: everything watchd.yaml (and its includes) can say,
// already validated. Produced by LoadConfig (config/loader.h).
#ifndef WATCHD_CONFIG_CONFIG_H_
#define WATCHD_CONFIG_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"

namespace watchd {

// Where a value was written, for error messages and `watchctl status`.
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
};

// --- probes ---------------------------------------------------------------

struct HttpProbeConfig {
  std::string url;  // http:// or https://
  std::string method = "GET";
  std::vector<int> expect_status;          // empty: any 2xx or 3xx
  std::optional<std::string> expect_body;  // ECMAScript regex, searched
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;  // request body, for POST/PUT
  bool reuse_connection = false;    // default: a fresh connection per probe
  bool tls_verify = true;           // verify the peer certificate and name
  std::optional<std::string> ca_file;
  uint64_t max_body_bytes = 1 << 20;  // bodies are read up to this, then cut
};

struct TcpProbeConfig {
  std::string host;
  int port = 0;
  std::optional<std::string> send;    // written after connect
  std::optional<std::string> expect;  // ECMAScript regex on what is read back
};

struct DnsProbeConfig {
  std::string name;
  std::string type = "A";             // A AAAA CNAME MX NS TXT SRV PTR
  std::optional<std::string> server;  // "host:port" or "host"; else system's
  std::vector<std::string> expect;    // each must be among the answers
};

struct ProcessProbeConfig {};

struct MemoryProbeConfig {
  uint64_t rss_max = 0;  // bytes
  bool include_children = false;
};

struct ExecProbeConfig {
  std::vector<std::string> argv;  // argv[0] is a path or a name on PATH
};

using ProbeConfig =
    std::variant<HttpProbeConfig, TcpProbeConfig, DnsProbeConfig,
                 ProcessProbeConfig, MemoryProbeConfig, ExecProbeConfig>;

// "http", "tcp", "dns", "process", "memory" or "exec".
const char* ProbeKindName(const ProbeConfig& probe);

// --- checks and services --------------------------------------------------

enum class OnFailure { kAlert, kRestart };

struct CheckConfig {
  std::string name;
  ProbeConfig probe;
  Duration interval = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(2);
  double jitter = 0.1;  // fraction of interval, 0..1
  int failures = 3;     // consecutive failures before failing
  int successes = 1;    // consecutive successes before passing again
  OnFailure on_failure = OnFailure::kAlert;
  SourceLocation location;
};

enum class RestartLimitAction { kUnmonitor, kAlert };

struct RestartLimit {
  int max = 3;
  Duration within = std::chrono::minutes(10);
  RestartLimitAction then = RestartLimitAction::kUnmonitor;
};

// Delay before the nth consecutive restart: none for the first, then
// initial, doubling up to max; the count resets once the service has stayed
// ok for `max`.
struct RestartBackoff {
  Duration initial = std::chrono::seconds(5);
  Duration max = std::chrono::minutes(5);
};

struct ServiceConfig {
  std::string name;
  std::optional<std::string> supervisor;  // a key of Config::supervisors
  std::string program;                    // defaults to the service name
  std::optional<std::string> pidfile;
  std::vector<std::string> depends_on;
  Duration start_grace = std::chrono::seconds(20);
  RestartLimit restart_limit;
  RestartBackoff restart_backoff;
  Duration stop_timeout = std::chrono::seconds(10);
  std::vector<CheckConfig> checks;  // in file order
  SourceLocation location;
};

enum class SupervisorType { kSupervisord, kSystemd, kCommand };

struct SupervisorConfig {
  std::string name;
  SupervisorType type = SupervisorType::kCommand;
  std::string url;  // supervisord: unix:///path or http://host:port
  // command: argv templates; {program} {service} {pid} replace whole args.
  std::vector<std::string> restart;
  std::vector<std::string> start;  // empty: start runs `restart`
  // systemd: the systemctl argv prefix, e.g. [systemctl, --user].
  std::vector<std::string> systemctl = {"systemctl"};
  Duration timeout = std::chrono::seconds(30);
  SourceLocation location;
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

struct DaemonConfig {
  std::string control_socket = "/run/watchd/control.sock";
  std::string state_file = "/var/lib/watchd/state.json";
  std::string metrics_listen = "127.0.0.1:9109";  // "" = off
  LogLevel log_level = LogLevel::kInfo;
};

struct Config {
  DaemonConfig daemon;
  std::map<std::string, SupervisorConfig> supervisors;
  std::vector<ServiceConfig> services;  // in file order, names unique
  std::vector<std::string> files;       // every file read, main one first
};

}  // namespace watchd

#endif  // WATCHD_CONFIG_CONFIG_H_
