// watchctl: the operator's command line to a running watchd, over its
// control socket. Exit codes (SPEC.md): 0 ok, 1 error, 2 unknown service,
// 3 a service is not ok (status, summary), 4 watchd unreachable.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/duration.h"
#include "control/control_client.h"
#include "control/protocol.h"
#include "core/version.h"
#include "watchctl/config_socket.h"
#include "watchctl/render.h"

namespace {

using watchd::ControlCall;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUnknownService = 2;
constexpr int kExitNotOk = 3;
constexpr int kExitUnreachable = 4;

constexpr char kDefaultConfig[] = "/etc/watchd/watchd.yaml";
constexpr char kDefaultSocket[] = "/run/watchd/control.sock";

constexpr char kUsage[] =
    "usage: watchctl [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  status [SERVICE...]     a block per service: state, reason, pid,\n"
    "                          uptime, memory, restarts, each check\n"
    "  summary [SERVICE...]    one line per service, unhealthy first\n"
    "  restart SERVICE...      restart through the supervisor; waits for the\n"
    "                          end (SERVICE may be a glob; or --all)\n"
    "  pause SERVICE...        stop acting on it (checks keep running)\n"
    "  resume SERVICE...       act on it again; its restart budget starts "
    "afresh\n"
    "  reload                  re-read the configuration\n"
    "  ping SERVICE/CHECK      feed a heartbeat check (not built yet)\n"
    "  list                    the service names, one per line, sorted\n"
    "  version                 watchctl's and watchd's versions\n"
    "\n"
    "options:\n"
    "  -s, --socket PATH       the control socket (default: the config's\n"
    "                          daemon.control_socket, else "
    "/run/watchd/control.sock)\n"
    "  -c, --config FILE       read the socket path from FILE (default\n"
    "                          /etc/watchd/watchd.yaml)\n"
    "      --json              print the daemon's reply (one JSON line)\n"
    "      --all               restart, pause or resume every service\n"
    "      --color WHEN        auto (a terminal), always or never\n"
    "      --no-color          the same as --color never\n"
    "      --timeout DURATION  how long to wait for an answer (default 30s;\n"
    "                          restart: 10m)\n"
    "  -h, --help              this text\n"
    "\n"
    "exit: 0 ok, 1 error, 2 unknown service, 3 a service is not ok,\n"
    "      4 watchd unreachable\n";

// An error reply: its message on stderr (unless the JSON was printed),
// its code as the exit code.
int ExitFor(const watchd::ReplyHeader& reply, bool printed) {
  if (!printed) {
    fprintf(
        stderr, "watchctl: %s\n",
        reply.error_message.empty() ? "error" : reply.error_message.c_str());
  }
  return reply.error_code == watchd::kErrUnknownService ? kExitUnknownService
                                                        : kExitError;
}

bool AllOk(const std::map<std::string, int64_t>& states) {
  for (const auto& [state, count] : states) {
    if (state != "ok" && count > 0) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  std::string config_path = kDefaultConfig;
  bool explicit_config = false;
  bool json = false;
  bool all = false;
  std::string color = "auto";
  std::optional<watchd::Duration> timeout;
  enum { kJson = 1000, kAll, kColor, kTimeout, kNoColor };
  static const option kOptions[] = {
      {"socket", required_argument, nullptr, 's'},
      {"config", required_argument, nullptr, 'c'},
      {"json", no_argument, nullptr, kJson},
      {"all", no_argument, nullptr, kAll},
      {"color", required_argument, nullptr, kColor},
      {"no-color", no_argument, nullptr, kNoColor},
      {"timeout", required_argument, nullptr, kTimeout},
      {"help", no_argument, nullptr, 'h'},
      {nullptr, 0, nullptr, 0}};
  int opt;
  // "+": options end at the command, as in git.
  while ((opt = getopt_long(argc, argv, "+s:c:h", kOptions, nullptr)) != -1) {
    switch (opt) {
      case 's':
        socket_path = optarg;
        break;
      case 'c':
        config_path = optarg;
        explicit_config = true;
        break;
      case kJson:
        json = true;
        break;
      case kAll:
        all = true;
        break;
      case kColor:
        color = optarg;
        if (color != "auto" && color != "always" && color != "never") {
          fprintf(stderr, "watchctl: --color takes auto, always or never\n");
          return kExitError;
        }
        break;
      case kNoColor:
        color = "never";
        break;
      case kTimeout: {
        auto d = watchd::ParseDuration(optarg);
        if (!d.ok()) {
          fprintf(stderr, "watchctl: --timeout: %s\n",
                  d.status().message().c_str());
          return kExitError;
        }
        timeout = *d;
        break;
      }
      case 'h':
        fputs(kUsage, stdout);
        return kExitOk;
      default:
        fputs(kUsage, stderr);
        return kExitError;
    }
  }
  // Options may also follow the command ("watchctl status --json").
  std::vector<std::string> args;
  for (int i = optind; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      json = true;
    } else if (a == "--all") {
      all = true;
    } else if (a == "--no-color") {
      color = "never";
    } else if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return kExitOk;
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    fputs(kUsage, stderr);
    return kExitError;
  }
  const std::string cmd = args[0];
  args.erase(args.begin());

  if (cmd == "version" && json == false)
    printf("watchctl %s\n", WATCHD_VERSION);

  nlohmann::json request = {{"cmd", cmd}};
  if (cmd == "status" || cmd == "summary" || cmd == "list") {
    request["cmd"] = cmd == "status" ? "status" : "summary";
    request["services"] = args;
  } else if (cmd == "restart" || cmd == "pause" || cmd == "resume") {
    if (args.empty() && !all) {
      fprintf(stderr, "watchctl: %s needs a SERVICE, a glob, or --all\n",
              cmd.c_str());
      return kExitError;
    }
    request["services"] = args;
    request["all"] = all;
  } else if (cmd == "reload" || cmd == "version") {
    if (!args.empty()) {
      fprintf(stderr, "watchctl: %s takes no arguments\n", cmd.c_str());
      return kExitError;
    }
  } else if (cmd == "ping") {
    if (args.size() != 1 || args[0].find('/') == std::string::npos) {
      fprintf(stderr, "watchctl: ping takes SERVICE/CHECK\n");
      return kExitError;
    }
    request["target"] = args[0];
  } else {
    fprintf(stderr, "watchctl: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return kExitError;
  }

  if (socket_path.empty()) {
    watchd::Result<std::string> from_config =
        watchd::SocketFromConfig(config_path);
    if (!from_config.ok() && explicit_config) {
      // The default config may be absent or unreadable to this user: the
      // default socket is tried then. A config named on purpose must work.
      fprintf(stderr, "watchctl: %s\n", from_config.status().message().c_str());
      return kExitError;
    }
    socket_path = from_config.ok() ? *from_config : "";
    if (socket_path.empty()) socket_path = kDefaultSocket;
  }
  // A restart lasts as long as the supervisor and stop_timeout allow.
  const watchd::Duration wait = timeout.value_or(
      cmd == "restart" ? watchd::Duration(std::chrono::minutes(10))
                       : watchd::Duration(std::chrono::seconds(30)));
  ControlCall call = watchd::CallControl(socket_path, request, wait);
  if (call.outcome == ControlCall::kUnreachable) {
    fprintf(stderr, "watchctl: %s\n", call.error.c_str());
    return kExitUnreachable;
  }
  if (call.outcome != ControlCall::kReplied) {
    fprintf(stderr, "watchctl: %s\n", call.error.c_str());
    return kExitError;
  }
  const watchd::ReplyHeader& header = call.header;
  if (json) {
    // As the daemon wrote it: re-printing a status of 10,000 services cost
    // watchctl more than the daemon took to write it.
    fwrite(call.line.data(), 1, call.line.size(), stdout);
    fputc('\n', stdout);
  }
  if (!header.ok) {
    if (cmd == "reload" && !json && header.error_code == watchd::kErrFailed) {
      // Every error of the new file, one FILE:LINE:COL a line, as editors
      // read them.
      fprintf(stderr,
              "watchctl: reload failed; watchd keeps its running "
              "configuration:\n%s\n",
              header.error_message.c_str());
      return kExitError;
    }
    return ExitFor(header, json);
  }
  const int status_exit = AllOk(header.states) ? kExitOk : kExitNotOk;
  if (json) return cmd == "status" || cmd == "summary" ? status_exit : kExitOk;

  nlohmann::json reply = nlohmann::json::parse(call.line, nullptr, false);
  if (reply.is_discarded()) {
    fprintf(stderr, "watchctl: watchd sent a reply watchctl cannot read\n");
    return kExitError;
  }
  watchd::RenderOptions options;
  options.color = color == "always" || (color == "auto" && isatty(1) &&
                                        getenv("NO_COLOR") == nullptr);
  if (cmd == "status" || cmd == "summary") {
    // The daemon sends them unhealthy first (docs/control.md).
    const nlohmann::json& services = reply["services"];
    fputs(cmd == "status" ? watchd::RenderStatus(services, options).c_str()
                          : watchd::RenderSummary(services, options).c_str(),
          stdout);
    return status_exit;
  }
  if (cmd == "list") {
    std::vector<std::string> names;
    for (const auto& s : reply["services"]) {
      names.push_back(s.value("name", ""));
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) printf("%s\n", name.c_str());
  } else if (cmd == "version") {
    printf("watchd %s (control protocol %d)\n",
           reply.value("version", "?").c_str(), reply.value("protocol", 0));
  } else if (cmd == "restart") {
    for (const auto& s : reply["services"]) {
      printf("%s: restarted\n", s.value("name", "").c_str());
    }
  } else if (cmd == "pause" || cmd == "resume") {
    for (const auto& s : reply["services"]) {
      printf("%s: %s (%s)\n", s.value("name", "").c_str(),
             cmd == "pause" ? "paused" : "resumed",
             s.value("state", "").c_str());
    }
  } else if (cmd == "reload") {
    printf("%s\n", reply.value("message", std::string("reloaded")).c_str());
  }
  return kExitOk;
}
