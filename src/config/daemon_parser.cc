#include "config/daemon_parser.h"

#include <sys/un.h>

#include <string_view>

#include "config/host_port.h"
#include "config/node_reader.h"

namespace watchd {
namespace {

constexpr std::string_view kKeys[] = {"control_socket", "state_file",
                                      "metrics_listen", "log_level"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn",
                                           "error"};
static_assert(static_cast<int>(LogLevel::kTrace) == 0 &&
              static_cast<int>(LogLevel::kError) == 4);

// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

}  // namespace

void ParseDaemon(NodeReader& reader, uint32_t node, DaemonConfig* daemon) {
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        if (auto path = reader.NonEmptyString(f.value)) {
          if (path->size() > kMaxSocketPath) {
            reader.Error(f.value, "control_socket path is longer than " +
                                      std::to_string(kMaxSocketPath) +
                                      " bytes, the limit for a unix socket");
          }
          daemon->control_socket = std::move(*path);
        }
        break;
      case 1:
        if (auto path = reader.NonEmptyString(f.value)) {
          daemon->state_file = std::move(*path);
        }
        break;
      case 2: {
        if (reader.IsNull(f.value)) {
          daemon->metrics_listen.clear();
          break;
        }
        std::optional<std::string> listen = reader.String(f.value);
        if (!listen) break;
        if (!listen->empty()) {
          Result<HostPort> hp = ParseHostPort(*listen, 0);
          if (!hp.ok() || !IsIpAddress(hp->host)) {
            reader.Error(f.value, "invalid metrics_listen '" + *listen +
                                      "': expected IP:port like 127.0.0.1:9109 "
                                      "or [::1]:9109, or \"\" for off");
          }
        }
        daemon->metrics_listen = std::move(*listen);
        break;
      }
      case 3:
        if (auto level = reader.Choice(f.value, kLogLevels)) {
          daemon->log_level = static_cast<LogLevel>(*level);
        }
        break;
    }
  });
}

}  // namespace watchd
