// The typed configuration: everything watchd.yaml (and its includes) can say,
// already validated. Produced by LoadConfig (config/loader.h).
#ifndef WATCHD_CONFIG_CONFIG_H_
#define WATCHD_CONFIG_CONFIG_H_

#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
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
  bool operator==(const SourceLocation&) const = default;
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
  bool operator==(const HttpProbeConfig&) const = default;
};

struct TcpProbeConfig {
  std::string host;
  int port = 0;
  std::optional<std::string> send;    // written after connect
  std::optional<std::string> expect;  // ECMAScript regex on what is read back
  bool operator==(const TcpProbeConfig&) const = default;
};

struct DnsProbeConfig {
  std::string name;
  std::string type = "A";             // A AAAA CNAME MX NS TXT SRV PTR
  std::optional<std::string> server;  // "host:port" or "host"; else system's
  std::vector<std::string> expect;    // each must be among the answers
  bool operator==(const DnsProbeConfig&) const = default;
};

struct ProcessProbeConfig {
  bool operator==(const ProcessProbeConfig&) const = default;
};

struct MemoryProbeConfig {
  uint64_t rss_max = 0;  // bytes
  bool include_children = false;
  bool operator==(const MemoryProbeConfig&) const = default;
};

struct ExecProbeConfig {
  std::vector<std::string> argv;       // argv[0] is a path or a name on PATH
  SourceLocation argv0_location = {};  // where argv[0] is written
  bool operator==(const ExecProbeConfig&) const = default;
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
  bool operator==(const CheckConfig&) const = default;
};

enum class RestartLimitAction { kUnmonitor, kAlert };

struct RestartLimit {
  int max = 3;
  Duration within = std::chrono::minutes(10);
  RestartLimitAction then = RestartLimitAction::kUnmonitor;
  bool operator==(const RestartLimit&) const = default;
};

// Delay before the nth consecutive restart: none for the first, then
// initial, doubling up to max; the count resets once the service has stayed
// ok for `max`.
struct RestartBackoff {
  Duration initial = std::chrono::seconds(5);
  Duration max = std::chrono::minutes(5);
  bool operator==(const RestartBackoff&) const = default;
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
  // Whether watchd clears its supervisor's give-up (systemd start-limit-hit,
  // supervisord FATAL) and starts the program, as a restart.
  bool recover_supervisor_giveup = false;
  std::vector<CheckConfig> checks;  // in file order
  // Notify targets (keys of NotifyConfig::targets); nullopt: every target.
  std::optional<std::vector<std::string>> notify;
  SourceLocation location;
  bool operator==(const ServiceConfig&) const = default;
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
  // Where argv[0] of restart, start and systemctl is written; the default
  // systemctl is placed at the `type` value that implies it.
  SourceLocation restart_location;
  SourceLocation start_location;
  SourceLocation systemctl_location;
  bool operator==(const SupervisorConfig&) const = default;
};

// --- notifications --------------------------------------------------------

// What a notification reports (docs/notifications.md).
enum class NotifyEvent : uint8_t {
  kHung,
  kDead,
  kFailing,
  kBlocked,
  kRestartStarted,
  kRestartSucceeded,
  kRestartFailed,
  kEscalated,
  kLimitReached,
  kRecovered,
  kReloadFailed,
  kStarted,
  kStopping,
};
inline constexpr std::string_view kNotifyEventNames[] = {"hung",
                                                         "dead",
                                                         "failing",
                                                         "blocked",
                                                         "restart_started",
                                                         "restart_succeeded",
                                                         "restart_failed",
                                                         "escalated",
                                                         "limit_reached",
                                                         "recovered",
                                                         "reload_failed",
                                                         "started",
                                                         "stopping"};
// "hung", "restart_started", ...
const char* NotifyEventName(NotifyEvent event);
// A set of events: bit 1 << event.
using NotifyEventSet = uint32_t;
inline constexpr NotifyEventSet kAllNotifyEvents =
    (1u << std::size(kNotifyEventNames)) - 1;

// The fields of a notification, as {name} placeholders in templates.
inline constexpr std::string_view kNotifyFields[] = {
    "event",  "service", "state", "previous_state",
    "reason", "check",   "time",  "host"};

struct WebhookTargetConfig {
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  Duration timeout = std::chrono::seconds(10);
  bool tls_verify = true;
  bool operator==(const WebhookTargetConfig&) const = default;
};

struct MailTargetConfig {
  std::string url;  // smtp://host[:port] or smtps://host[:port]
  std::string from;
  std::vector<std::string> to;
  bool starttls = false;  // smtp:// only: require STARTTLS
  std::optional<std::string> username;
  std::optional<std::string> password_file;           // read at start
  std::string subject = "watchd: {service} {event}";  // a template
  std::string body =
      "Service: {service}\nEvent:   {event}\nState:   {state} (was "
      "{previous_state})\nReason:  {reason}\nCheck:   {check}\nDate:    "
      "{time}\nHost:    {host}\n";
  Duration timeout = std::chrono::seconds(30);
  bool tls_verify = true;
  bool operator==(const MailTargetConfig&) const = default;
};

struct CommandTargetConfig {
  // Templates: {event}, {service}, ... replace whole arguments.
  std::vector<std::string> argv;
  Duration timeout = std::chrono::seconds(30);
  SourceLocation argv0_location;
  bool operator==(const CommandTargetConfig&) const = default;
};

using NotifyTargetKind =
    std::variant<WebhookTargetConfig, MailTargetConfig, CommandTargetConfig>;

struct NotifyTargetConfig {
  std::string name;
  NotifyTargetKind kind;
  NotifyEventSet events = kAllNotifyEvents;
  std::vector<std::string> services;  // glob patterns; empty: every service
  SourceLocation location;
  bool operator==(const NotifyTargetConfig&) const = default;
};

// Retries of one delivery: `attempts` in all, the delay doubling from
// `initial`, none starting later than `within` after the first.
struct NotifyRetry {
  int attempts = 5;
  Duration initial = std::chrono::seconds(2);
  Duration within = std::chrono::minutes(10);
  bool operator==(const NotifyRetry&) const = default;
};

struct NotifyConfig {
  std::map<std::string, NotifyTargetConfig> targets;
  // Repeat a service's hung/dead/failing/blocked event this often while it
  // lasts; 0: never.
  Duration reminder = Duration::zero();
  // Per target, events within this of the last message go out together as
  // one digest; 0: each loop pass's events together.
  Duration coalesce = std::chrono::seconds(10);
  size_t queue_max = 1000;  // events waiting per target; the oldest drop
  NotifyRetry retry;
  bool operator==(const NotifyConfig&) const = default;
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

struct DaemonConfig {
  std::string control_socket = "/run/watchd/control.sock";  // "" = off
  // The socket's group: its members may read status (0660, SPEC.md).
  std::optional<std::string> control_group;
  std::string state_file = "/var/lib/watchd/state.json";
  std::string metrics_listen = "127.0.0.1:9109";  // "" = off
  LogLevel log_level = LogLevel::kInfo;
  std::string log_file;  // "" = stderr
  bool operator==(const DaemonConfig&) const = default;
};

struct Config {
  DaemonConfig daemon;
  NotifyConfig notify;
  std::map<std::string, SupervisorConfig> supervisors;
  std::vector<ServiceConfig> services;  // in file order, names unique
  std::vector<std::string> files;       // every file read, main one first
};

}  // namespace watchd

#endif  // WATCHD_CONFIG_CONFIG_H_
