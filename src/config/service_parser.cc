#include "config/service_parser.h"

#include <algorithm>
#include <optional>

#include "config/check_parser.h"
#include "config/defaults.h"
#include "config/node_reader.h"

namespace watchd {
namespace {

constexpr std::array<std::string_view, 7> kOwnKeys = {
    "supervisor",
    "program",
    "pidfile",
    "depends_on",
    "checks",
    "notify",
    "recover_supervisor_giveup"};
constexpr auto kServiceKeys = ConcatKeys(kOwnKeys, kServiceDefaultKeys);

constexpr std::string_view kRestartLimitKeys[] = {"max", "within", "then"};
constexpr std::string_view kRestartBackoffKeys[] = {"initial", "max"};
constexpr std::string_view kThenValues[] = {"unmonitor", "alert"};
static_assert(static_cast<int>(RestartLimitAction::kUnmonitor) == 0 &&
              static_cast<int>(RestartLimitAction::kAlert) == 1);

void ReadRestartLimit(NodeReader& reader, uint32_t node, RestartLimit* limit) {
  reader.ForEachField(node, kRestartLimitKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        if (auto n = reader.Int(f.value, 1, 1'000'000))
          limit->max = static_cast<int>(*n);
        break;
      case 1:
        if (auto d = reader.PositiveDuration(f.value)) limit->within = *d;
        break;
      case 2:
        if (auto then = reader.Choice(f.value, kThenValues)) {
          limit->then = static_cast<RestartLimitAction>(*then);
        }
        break;
    }
  });
}

void ReadRestartBackoff(NodeReader& reader, uint32_t node,
                        RestartBackoff* backoff) {
  reader.ForEachField(node, kRestartBackoffKeys,
                      [&](const NodeReader::Field& f) {
                        if (f.index == 0) {
                          if (auto d = reader.ReadDuration(f.value))
                            backoff->initial = *d;
                        } else if (auto d = reader.PositiveDuration(f.value)) {
                          backoff->max = *d;
                        }
                      });
  // Checked on the merged values: one of them may come from defaults.
  if (backoff->initial > backoff->max) {
    reader.Error(
        node, "restart_backoff: initial " + FormatDuration(backoff->initial) +
                  " is longer than max " + FormatDuration(backoff->max));
  }
}

void ReadDependencies(NodeReader& reader, uint32_t node, ServiceConfig* service,
                      ServiceRefs* refs) {
  auto add = [&](uint32_t item) {
    std::optional<std::string> name = reader.NonEmptyString(item);
    if (!name) return;
    auto it = std::find(service->depends_on.begin(), service->depends_on.end(),
                        *name);
    if (it != service->depends_on.end()) {
      reader.Error(item, "'" + *name + "' is already in depends_on");
      return;
    }
    service->depends_on.push_back(std::move(*name));
    refs->depends_on.push_back(reader.Location(item));
  };
  if (reader.IsSequence(node)) {
    reader.ForEachItem(node, add);
  } else if (reader.IsMap(node)) {
    reader.Error(node, "expected a service name or a list of them");
  } else if (!reader.IsNull(node)) {
    add(node);
  }
}

void ReadNotifyTargets(NodeReader& reader, uint32_t node,
                       ServiceConfig* service, ServiceRefs* refs) {
  std::vector<std::string>& targets = service->notify.emplace();
  auto add = [&](uint32_t item) {
    std::optional<std::string> name = reader.NonEmptyString(item);
    if (!name) return;
    if (std::find(targets.begin(), targets.end(), *name) != targets.end()) {
      reader.Error(item, "'" + *name + "' is already in notify");
      return;
    }
    targets.push_back(std::move(*name));
    refs->notify.push_back(reader.Location(item));
  };
  if (reader.IsSequence(node)) {
    reader.ForEachItem(node, add);
  } else if (reader.IsMap(node)) {
    reader.Error(node, "expected a notify target name or a list of them");
  } else if (!reader.IsNull(node)) {
    add(node);
  }
}

}  // namespace

void ReadServiceDefaultKey(NodeReader& reader, size_t key, uint32_t value,
                           ServiceConfig* service) {
  switch (key) {
    case 0:
      if (auto d = reader.ReadDuration(value)) service->start_grace = *d;
      break;
    case 1:
      if (auto d = reader.PositiveDuration(value)) service->stop_timeout = *d;
      break;
    case 2:
      ReadRestartLimit(reader, value, &service->restart_limit);
      break;
    case 3:
      ReadRestartBackoff(reader, value, &service->restart_backoff);
      break;
  }
}

ServiceConfig ParseService(NodeReader& reader, const std::string& name,
                           uint32_t key_node, uint32_t node,
                           const ConfigDefaults& defaults, ServiceRefs* refs) {
  ServiceConfig service = defaults.service;
  service.name = name;
  service.program = name;
  service.location = reader.Location(key_node);
  std::optional<uint32_t> checks_node;
  reader.ForEachField(node, kServiceKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        if (auto supervisor = reader.NonEmptyString(f.value)) {
          service.supervisor = std::move(*supervisor);
          refs->supervisor = reader.Location(f.value);
        }
        break;
      case 1:
        if (auto program = reader.NonEmptyString(f.value)) {
          service.program = std::move(*program);
        }
        break;
      case 2:
        if (auto pidfile = reader.NonEmptyString(f.value)) {
          if (pidfile->front() != '/') {
            reader.Error(f.value, "pidfile must be an absolute path");
          }
          service.pidfile = std::move(*pidfile);
        }
        break;
      case 3:
        ReadDependencies(reader, f.value, &service, refs);
        break;
      case 4:
        checks_node = f.value;
        break;
      case 5:
        ReadNotifyTargets(reader, f.value, &service, refs);
        break;
      case 6:
        if (auto recover = reader.Bool(f.value)) {
          service.recover_supervisor_giveup = *recover;
          if (*recover)
            refs->recover_supervisor_giveup = reader.Location(f.value);
        }
        break;
      default:
        ReadServiceDefaultKey(reader, f.index - kOwnKeys.size(), f.value,
                              &service);
        break;
    }
  });
  // Checks last: whether on_failure: restart is allowed depends on whether
  // a supervisor is set, wherever it is written in the map.
  if (checks_node) {
    reader.ForEachEntry(
        *checks_node, /*unique=*/true, [&](const NodeReader::Entry& e) {
          if (!reader.CheckName(e.key_node, e.name, "check")) return;
          service.checks.push_back(ParseCheck(reader, e.name, e.key_node,
                                              e.value, defaults.check,
                                              service.supervisor.has_value()));
        });
  }
  return service;
}

}  // namespace watchd
