#include "config/validate.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "config/diagnostics.h"
#include "config/did_you_mean.h"

namespace watchd {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

template <typename Range, typename Name>
std::vector<std::string_view> NamesOf(const Range& range, Name name) {
  std::vector<std::string_view> names;
  names.reserve(range.size());
  for (const auto& item : range) names.push_back(name(item));
  return names;
}

void CheckSupervisors(const Config& config,
                      const std::vector<ServiceRefs>& refs, Diagnostics* diag) {
  for (size_t i = 0; i < config.services.size(); ++i) {
    const ServiceConfig& service = config.services[i];
    if (!service.supervisor || config.supervisors.count(*service.supervisor)) {
      continue;
    }
    std::string message = "unknown supervisor '" + *service.supervisor + "'";
    if (config.supervisors.empty()) {
      message += ": no supervisors are defined";
    } else {
      message += DidYouMean(*service.supervisor,
                            NamesOf(config.supervisors, [](const auto& kv) {
                              return std::string_view(kv.first);
                            }));
    }
    diag->Error(refs[i].supervisor, message);
  }
}

// Only systemd and supervisord give a program up by their own policy.
void CheckGiveUpRecovery(const Config& config,
                         const std::vector<ServiceRefs>& refs,
                         Diagnostics* diag) {
  for (size_t i = 0; i < config.services.size(); ++i) {
    if (!refs[i].recover_supervisor_giveup) continue;
    const ServiceConfig& service = config.services[i];
    std::string why;
    if (!service.supervisor) {
      why = "this service has none";
    } else if (auto it = config.supervisors.find(*service.supervisor);
               it != config.supervisors.end() &&
               it->second.type == SupervisorType::kCommand) {
      why = "'" + *service.supervisor +
            "' is a command supervisor, which never gives a program up";
    }
    if (!why.empty()) {
      diag->Error(*refs[i].recover_supervisor_giveup,
                  "recover_supervisor_giveup needs a supervisord or systemd "
                  "supervisor, and " +
                      why);
    }
  }
}

// The service index of every dependency, kNone for unknown ones (reported).
std::vector<std::vector<size_t>> ResolveDependencies(
    const Config& config, const std::vector<ServiceRefs>& refs,
    Diagnostics* diag) {
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(config.services.size());
  for (size_t i = 0; i < config.services.size(); ++i) {
    index.emplace(config.services[i].name, i);
  }
  std::vector<std::string_view> names;  // for suggestions, built on demand
  std::vector<std::vector<size_t>> edges(config.services.size());
  for (size_t i = 0; i < config.services.size(); ++i) {
    for (size_t d = 0; d < config.services[i].depends_on.size(); ++d) {
      const std::string& name = config.services[i].depends_on[d];
      auto it = index.find(name);
      if (it != index.end()) {
        edges[i].push_back(it->second);
        continue;
      }
      edges[i].push_back(kNone);
      if (names.empty()) {
        names = NamesOf(config.services, [](const ServiceConfig& s) {
          return std::string_view(s.name);
        });
      }
      diag->Error(refs[i].depends_on[d], "unknown service '" + name +
                                             "' in depends_on" +
                                             DidYouMean(name, names));
    }
  }
  return edges;
}

// Reports every cycle closed by a back edge of a depth-first search, named
// from its first service in file order. Iterative: chains can be long.
void CheckCycles(const Config& config, const std::vector<ServiceRefs>& refs,
                 const std::vector<std::vector<size_t>>& edges,
                 Diagnostics* diag) {
  enum class Color : uint8_t { kWhite, kGray, kBlack };
  std::vector<Color> color(edges.size(), Color::kWhite);
  std::vector<size_t> position(edges.size(), kNone);  // in `path`
  std::vector<std::pair<size_t, size_t>> path;        // service, next edge
  for (size_t start = 0; start < edges.size(); ++start) {
    if (color[start] != Color::kWhite) continue;
    color[start] = Color::kGray;
    position[start] = 0;
    path.emplace_back(start, 0);
    while (!path.empty()) {
      auto& [u, next] = path.back();
      if (next == edges[u].size()) {
        color[u] = Color::kBlack;
        path.pop_back();
        continue;
      }
      size_t v = edges[u][next++];
      if (v == kNone || color[v] == Color::kBlack) continue;
      if (color[v] == Color::kWhite) {
        color[v] = Color::kGray;
        position[v] = path.size();
        path.emplace_back(v, 0);
        continue;
      }
      // A back edge u -> v: the cycle is v ... u on the path.
      std::vector<size_t> cycle;
      for (size_t k = position[v]; k < path.size(); ++k)
        cycle.push_back(path[k].first);
      std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()),
                  cycle.end());
      std::string message = "dependency cycle: ";
      for (size_t s : cycle) message += config.services[s].name + " -> ";
      message += config.services[cycle.front()].name;
      // Point at the first service's entry naming the next one.
      const ServiceConfig& first = config.services[cycle.front()];
      const std::string& second =
          config.services[cycle.size() > 1 ? cycle[1] : cycle[0]].name;
      size_t entry =
          std::find(first.depends_on.begin(), first.depends_on.end(), second) -
          first.depends_on.begin();
      diag->Error(refs[cycle.front()].depends_on[entry], message);
    }
  }
}

void CheckPidSources(const Config& config, Diagnostics* diag) {
  for (const ServiceConfig& service : config.services) {
    if (service.pidfile) continue;
    if (service.supervisor) {
      auto it = config.supervisors.find(*service.supervisor);
      if (it == config.supervisors.end()) continue;  // unknown, reported
      if (it->second.type != SupervisorType::kCommand) continue;
    }
    for (const CheckConfig& check : service.checks) {
      bool needs_pid =
          std::holds_alternative<ProcessProbeConfig>(check.probe) ||
          std::holds_alternative<MemoryProbeConfig>(check.probe);
      if (!needs_pid) continue;
      diag->Error(check.location,
                  std::string("a ") + ProbeKindName(check.probe) +
                      " check needs the service's pid: set pidfile, or use a "
                      "supervisord or systemd supervisor");
    }
  }
}

void CheckNotifyTargets(const Config& config,
                        const std::vector<ServiceRefs>& refs,
                        Diagnostics* diag) {
  std::vector<std::string_view> targets =
      NamesOf(config.notify.targets,
              [](const auto& kv) { return std::string_view(kv.first); });
  for (size_t i = 0; i < config.services.size(); ++i) {
    const auto& notify = config.services[i].notify;
    if (!notify) continue;
    for (size_t t = 0; t < notify->size(); ++t) {
      const std::string& name = (*notify)[t];
      if (config.notify.targets.count(name)) continue;
      std::string message = "unknown notify target '" + name + "'";
      message += targets.empty() ? ": no notify targets are defined"
                                 : DidYouMean(name, targets);
      diag->Error(refs[i].notify[t], message);
    }
  }
}

// A target's `services` entry without wildcards names one service.
void CheckNotifyServices(const Config& config, const NotifyRefs& notify_refs,
                         Diagnostics* diag) {
  if (notify_refs.service_names.empty()) return;
  std::unordered_map<std::string_view, size_t> index;
  for (size_t i = 0; i < config.services.size(); ++i) {
    index.emplace(config.services[i].name, i);
  }
  std::vector<std::string_view> names =
      NamesOf(config.services,
              [](const ServiceConfig& s) { return std::string_view(s.name); });
  for (const NotifyRefs::ServiceName& ref : notify_refs.service_names) {
    if (index.count(ref.name)) continue;
    diag->Error(ref.location, "unknown service '" + ref.name +
                                  "' in the services of notify target '" +
                                  ref.target + "'" +
                                  DidYouMean(ref.name, names));
  }
}

}  // namespace

void ValidateReferences(const Config& config,
                        const std::vector<ServiceRefs>& refs,
                        const NotifyRefs& notify_refs, Diagnostics* diag) {
  CheckSupervisors(config, refs, diag);
  CheckGiveUpRecovery(config, refs, diag);
  CheckCycles(config, refs, ResolveDependencies(config, refs, diag), diag);
  CheckPidSources(config, diag);
  CheckNotifyTargets(config, refs, diag);
  CheckNotifyServices(config, notify_refs, diag);
}

}  // namespace watchd
