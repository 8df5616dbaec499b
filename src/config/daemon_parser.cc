#include "config/daemon_parser.h"

#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <string_view>

#include "config/host_port.h"
#include "config/node_reader.h"

namespace watchd {
namespace {

constexpr std::string_view kKeys[] = {"control_socket", "state_file",
                                      "metrics_listen", "log_level",
                                      "control_group",  "log_file"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn",
                                           "error"};
static_assert(static_cast<int>(LogLevel::kTrace) == 0 &&
              static_cast<int>(LogLevel::kError) == 4);

// sun_path holds the path and its terminating NUL.
constexpr size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;

// The file itself may be missing (watchd creates it), its directory not:
// said here, at the value, rather than as watchd fails to start.
void CheckLogFile(NodeReader& reader, uint32_t node, const std::string& path) {
  if (path[0] != '/') {
    reader.Error(node, "log_file must be an absolute path");
    return;
  }
  const std::string dir = path.substr(0, std::max<size_t>(path.rfind('/'), 1));
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    reader.Error(node, "cannot log to " + path + ": directory " + dir + ": " +
                           strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) {
    reader.Error(node,
                 "cannot log to " + path + ": " + dir + " is not a directory");
  } else if (path.back() == '/') {
    reader.Error(node, "log_file " + path + " names a directory, not a file");
  }
}

}  // namespace

void ParseDaemon(NodeReader& reader, uint32_t node, DaemonConfig* daemon) {
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        if (auto path = reader.String(f.value)) {
          // "" turns the control socket (and watchctl) off.
          if (!path->empty() && (*path)[0] != '/') {
            reader.Error(f.value, "control_socket must be an absolute path");
          }
          if (path->size() > kMaxSocketPath) {
            reader.Error(f.value, "control_socket path is longer than " +
                                      std::to_string(kMaxSocketPath) +
                                      " bytes, the limit for a unix socket");
          }
          daemon->control_socket = std::move(*path);
        }
        break;
      case 1:
        // "" keeps no state across restarts.
        if (auto path = reader.String(f.value)) {
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
      case 4:
        if (auto group = reader.NonEmptyString(f.value)) {
          if (getgrnam(group->c_str()) == nullptr) {
            reader.Error(f.value, "no group '" + *group + "' on this machine");
          }
          daemon->control_group = std::move(*group);
        }
        break;
      case 5:
        if (auto path = reader.NonEmptyString(f.value)) {
          CheckLogFile(reader, f.value, *path);
          daemon->log_file = std::move(*path);
        }
        break;
    }
  });
}

}  // namespace watchd
