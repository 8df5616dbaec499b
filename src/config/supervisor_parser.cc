#include "config/supervisor_parser.h"

#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "config/host_port.h"
#include "config/node_reader.h"
#include "config/placeholders.h"

namespace watchd {
namespace {

enum Key { kType, kUrl, kRestart, kStart, kSystemctl, kTimeout, kKeyCount };
constexpr std::array<std::string_view, kKeyCount> kKeys = {
    "type", "url", "restart", "start", "systemctl", "timeout"};

constexpr std::string_view kTypes[] = {"supervisord", "systemd", "command"};
static_assert(static_cast<int>(SupervisorType::kSupervisord) == 0 &&
              static_cast<int>(SupervisorType::kSystemd) == 1 &&
              static_cast<int>(SupervisorType::kCommand) == 2);

constexpr std::string_view kPlaceholders[] = {"program", "service", "pid"};

bool ValidSupervisordUrl(std::string_view url) {
  if (url.starts_with("unix://")) {
    std::string_view path = url.substr(7);
    return path.size() > 1 && path[0] == '/';
  }
  if (!url.starts_with("http://")) return false;
  std::string_view authority = url.substr(7);
  if (authority.ends_with('/')) authority.remove_suffix(1);
  // supervisord's inet_http_server may ask for user:password@.
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  return ParseHostPort(authority, 0).ok();
}

}  // namespace

SupervisorConfig ParseSupervisor(NodeReader& reader, const std::string& name,
                                 uint32_t key_node, uint32_t node) {
  SupervisorConfig supervisor;
  supervisor.name = name;
  supervisor.location = reader.Location(key_node);
  std::optional<SupervisorType> type;
  std::array<std::optional<uint32_t>, kKeyCount> keys;  // key nodes
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    keys[f.index] = f.key_node;
    switch (f.index) {
      case kType:
        if (auto choice = reader.Choice(f.value, kTypes)) {
          type = static_cast<SupervisorType>(*choice);
        }
        // The default systemctl is checked where the type implies it,
        // unless `systemctl` names one (in any order).
        if (supervisor.systemctl_location.line == 0) {
          supervisor.systemctl_location = reader.Location(f.value);
        }
        break;
      case kUrl:
        if (auto url = reader.NonEmptyString(f.value)) {
          if (!ValidSupervisordUrl(*url)) {
            reader.Error(f.value, "invalid url '" + *url +
                                      "': expected unix:///path/to/socket or "
                                      "http://[user:password@]host:port");
          }
          supervisor.url = std::move(*url);
        }
        break;
      case kRestart:
      case kStart: {
        const bool restart = f.index == kRestart;
        SourceLocation argv0;
        if (auto argv = reader.Argv(f.value, &argv0)) {
          CheckArgvPlaceholders(reader, f.value, kPlaceholders);
          (restart ? supervisor.restart : supervisor.start) = std::move(*argv);
          (restart ? supervisor.restart_location : supervisor.start_location) =
              argv0;
        }
        break;
      }
      case kSystemctl:
        if (auto argv = reader.Argv(f.value, &supervisor.systemctl_location))
          supervisor.systemctl = std::move(*argv);
        break;
      case kTimeout:
        if (auto d = reader.PositiveDuration(f.value)) supervisor.timeout = *d;
        break;
    }
  });
  if (!keys[kType]) {
    if (reader.IsMap(node) || reader.IsNull(node)) {
      reader.Error(node,
                   "missing required key 'type' (supervisord, systemd or "
                   "command)");
    }
    return supervisor;
  }
  if (!type) return supervisor;  // an invalid type, reported
  supervisor.type = *type;
  const std::string type_name(kTypes[static_cast<int>(*type)]);
  auto only_for = [&](Key key, SupervisorType owner) {
    if (keys[key] && *type != owner) {
      reader.Error(*keys[key],
                   "'" + std::string(kKeys[key]) + "' applies only to type " +
                       std::string(kTypes[static_cast<int>(owner)]));
    }
  };
  auto require = [&](Key key) {
    if (!keys[key]) {
      reader.Error(node, "missing required key '" + std::string(kKeys[key]) +
                             "' for type " + type_name);
    }
  };
  only_for(kUrl, SupervisorType::kSupervisord);
  only_for(kRestart, SupervisorType::kCommand);
  only_for(kStart, SupervisorType::kCommand);
  only_for(kSystemctl, SupervisorType::kSystemd);
  if (*type == SupervisorType::kSupervisord) require(kUrl);
  if (*type == SupervisorType::kCommand) require(kRestart);
  return supervisor;
}

}  // namespace watchd
