#include "daemon/control_commands.h"

#include <fnmatch.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "control/json_writer.h"
#include "control/protocol.h"
#include "core/event_loop.h"
#include "core/state_order.h"
#include "core/version.h"
#include "daemon/status_json.h"
#include "health/service.h"

namespace watchd {

struct ControlCommands::Selection {
  std::vector<Service*> services;  // in config order, each once
};

namespace {

bool IsGlob(const std::string& s) {
  return s.find_first_of("*?[") != std::string::npos;
}

std::string Who(const ControlPeer& peer) {
  return "uid " + std::to_string(peer.uid) + " (pid " +
         std::to_string(peer.pid) + ")";
}

}  // namespace

ControlCommands::ControlCommands(Context context)
    : context_(std::move(context)),
      started_(context_.loop->Now()),
      started_wall_(std::chrono::system_clock::now()) {}

void ControlCommands::Handle(const ControlPeer& peer, const std::string& line,
                             ControlServer::Responder responder) {
  Result<ControlRequest> req = ParseControlRequest(line);
  if (!req.ok()) {
    responder.Send(ErrorReply(kErrBadRequest, req.status().message()));
    return;
  }
  const std::string& cmd = req->cmd;
  if (IsActingCommand(cmd) && peer.uid != 0 && peer.uid != geteuid()) {
    spdlog::warn("control: refused {} from {}: only root or uid {} may act",
                 cmd, Who(peer), geteuid());
    responder.Send(ErrorReply(
        kErrPermission, cmd + " is allowed only to root and to watchd's uid (" +
                            std::to_string(geteuid()) + ")"));
    return;
  }
  const std::string who = Who(peer);
  if (cmd == "status" || cmd == "summary") {
    Describe(req->args, cmd == "summary", std::move(responder));
  } else if (cmd == "version") {
    responder.Send(Version());
  } else if (cmd == "pause" || cmd == "resume") {
    responder.Send(PauseOrResume(req->args, cmd == "pause", who));
  } else if (cmd == "restart") {
    Restart(req->args, who, std::move(responder));
  } else if (cmd == "reload") {
    if (!context_.reload) {
      responder.Send(ErrorReply(kErrUnavailable,
                                "reload is not available in this watchd"));
      return;
    }
    spdlog::info("control: reload by {}", who);
    context_.reload(std::move(responder));
  } else if (cmd == "ping") {
    responder.Send(ErrorReply(kErrUnavailable,
                              "this watchd has no heartbeat checks to ping"));
  } else {
    responder.Send(ErrorReply(kErrUnknownCommand,
                              "unknown command '" + cmd +
                                  "' (status, summary, version, restart, "
                                  "pause, resume, reload)"));
  }
}

bool ControlCommands::Select(const nlohmann::json& args, bool empty_is_all,
                             Selection* out, std::string* error) const {
  const auto& services = *context_.services;
  std::vector<std::string> patterns;
  bool all = false;
  if (auto it = args.find("all"); it != args.end()) {
    if (!it->is_boolean()) {
      *error = "\"all\" must be true or false";
      return false;
    }
    all = it->get<bool>();
  }
  if (auto it = args.find("services"); it != args.end()) {
    if (!it->is_array()) {
      *error = "\"services\" must be an array of names or globs";
      return false;
    }
    for (const auto& p : *it) {
      if (!p.is_string()) {
        *error = "\"services\" must be an array of names or globs";
        return false;
      }
      patterns.push_back(p.get<std::string>());
    }
  }
  if (all || (patterns.empty() && empty_is_all)) {
    for (const auto& s : services) out->services.push_back(s.get());
    return true;
  }
  if (patterns.empty()) {
    *error = "name a service, a glob, or --all";
    return false;
  }
  std::vector<bool> chosen(services.size(), false);
  std::vector<std::string> unknown;
  for (const std::string& p : patterns) {
    bool matched = false;
    for (size_t i = 0; i < services.size(); ++i) {
      const std::string& name = services[i]->name();
      bool hit =
          IsGlob(p) ? fnmatch(p.c_str(), name.c_str(), 0) == 0 : name == p;
      if (hit) {
        chosen[i] = true;
        matched = true;
      }
    }
    if (!matched) unknown.push_back(p);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown)
      list += (list.empty() ? "'" : ", '") + u + "'";
    *error = (unknown.size() == 1 ? "no service " : "no services ") + list;
    return false;
  }
  for (size_t i = 0; i < services.size(); ++i) {
    if (chosen[i]) out->services.push_back(services[i].get());
  }
  return true;
}

// A status or summary being written, a slice of services per pass of the
// loop.
struct ControlCommands::Describing {
  Describing(bool summary, StatusClock clock,
             ControlServer::Responder responder)
      : summary(summary), clock(clock), responder(std::move(responder)) {}
  const bool summary;
  const StatusClock clock;
  ControlServer::Responder responder;
  std::string out;
  JsonWriter w{&out};
  // In the order written; names as well, since a reload (or a parked
  // service taking over) may destroy Service objects between slices.
  std::vector<const Service*> services;
  std::vector<std::string> names;
  uint64_t generation = 0;
  size_t next = 0;
};

void ControlCommands::Describe(const nlohmann::json& args, bool summary,
                               ControlServer::Responder responder) const {
  Selection sel;
  std::string error;
  if (!Select(args, /*empty_is_all=*/true, &sel, &error)) {
    responder.Send(ErrorReply(kErrUnknownService, error));
    return;
  }
  const TimePoint now = context_.loop->Now();
  auto job = std::make_shared<Describing>(
      summary, StatusClock(now, std::chrono::system_clock::now()),
      std::move(responder));
  job->out.reserve(sel.services.size() * (summary ? 128 : 768) + 256);
  JsonWriter& w = job->w;
  w.BeginObject();
  w.Key("v");
  w.Int(kControlProtocolVersion);
  w.Key("ok");
  w.Bool(true);
  w.Key("daemon");
  w.BeginObject();
  w.Key("version");
  w.String(WATCHD_VERSION);
  w.Key("pid");
  w.Int(getpid());
  w.Key("started");
  w.String(FormatRfc3339(started_wall_));
  w.Key("uptime_seconds");
  w.Double(ToSeconds(now - started_));
  w.Key("config");
  w.String(context_.config_path);
  w.Key("services");
  w.Int(static_cast<int64_t>(context_.services->size()));
  w.EndObject();
  // Unhealthy first, as every view lists them, and counted by state ahead
  // of the list: watchctl decides its exit code without reading the list.
  std::array<int, kServiceStateCount> severity{};
  for (size_t i = 0; i < kServiceStateCount; ++i) {
    severity[i] = StateSeverity(ServiceStateName(static_cast<ServiceState>(i)));
  }
  std::array<int64_t, kServiceStateCount> counts{};
  for (const Service* s : sel.services) {
    ++counts[static_cast<size_t>(s->state())];
  }
  std::stable_sort(sel.services.begin(), sel.services.end(),
                   [&](const Service* a, const Service* b) {
                     return ShownBefore(
                         severity[static_cast<size_t>(a->state())], a->name(),
                         severity[static_cast<size_t>(b->state())], b->name());
                   });
  w.Key("states");
  w.BeginObject();
  for (std::string_view state : kStatesWorstFirst) {
    for (size_t i = 0; i < kServiceStateCount; ++i) {
      if (counts[i] != 0 &&
          state == ServiceStateName(static_cast<ServiceState>(i))) {
        w.Key(state);
        w.Int(counts[i]);
      }
    }
  }
  w.EndObject();
  w.Key("services");
  w.BeginArray();
  job->services.assign(sel.services.begin(), sel.services.end());
  job->names.reserve(sel.services.size());
  for (const Service* s : sel.services) job->names.push_back(s->name());
  job->generation = *context_.services_generation;
  WriteSlice(job);
}

void ControlCommands::WriteSlice(const std::shared_ptr<Describing>& job) const {
  // Nobody to answer: stop writing.
  if (!job->responder.connected()) return;
  if (job->generation != *context_.services_generation) {
    // Services were destroyed or replaced since the last slice: find the
    // rest by name; one gone since is left out.
    std::map<std::string_view, const Service*> by_name;
    for (const auto& s : *context_.services)
      by_name.emplace(s->name(), s.get());
    for (size_t i = job->next; i < job->names.size(); ++i) {
      auto found = by_name.find(job->names[i]);
      job->services[i] = found == by_name.end() ? nullptr : found->second;
    }
    job->generation = *context_.services_generation;
  }
  const size_t end =
      std::min(job->services.size(), job->next + kServicesPerSlice);
  for (; job->next < end; ++job->next) {
    const Service* s = job->services[job->next];
    if (s == nullptr) continue;
    if (job->summary) {
      WriteServiceSummary(&job->w, *s, job->clock);
    } else {
      WriteServiceStatus(&job->w, *s, job->clock, *context_.supervisors);
    }
  }
  if (job->next < job->services.size()) {
    // The probes due meanwhile run before the next slice.
    context_.loop->RunInLoop([this, alive = std::weak_ptr<bool>(alive_), job] {
      if (alive.lock()) WriteSlice(job);
    });
    return;
  }
  job->w.EndArray();
  job->w.EndObject();
  job->out.push_back('\n');
  job->responder.Send(std::move(job->out));
}

std::string ControlCommands::Version() const {
  return OkReply(
      {{"version", WATCHD_VERSION}, {"protocol", kControlProtocolVersion}});
}

std::string ControlCommands::PauseOrResume(const nlohmann::json& args,
                                           bool pause, const std::string& who) {
  Selection sel;
  std::string error;
  if (!Select(args, /*empty_is_all=*/false, &sel, &error)) {
    return ErrorReply(kErrUnknownService, error);
  }
  nlohmann::json done = nlohmann::json::array();
  for (Service* s : sel.services) {
    spdlog::info("control: {} {} by {}", pause ? "pause" : "resume", s->name(),
                 who);
    if (pause) {
      s->Pause();
    } else {
      s->Resume();
    }
    done.push_back(
        {{"name", s->name()}, {"state", ServiceStateName(s->state())}});
  }
  return OkReply({{"services", std::move(done)}});
}

void ControlCommands::Restart(const nlohmann::json& args,
                              const std::string& who,
                              ControlServer::Responder responder) {
  Selection sel;
  std::string error;
  if (!Select(args, /*empty_is_all=*/false, &sel, &error)) {
    responder.Send(ErrorReply(kErrUnknownService, error));
    return;
  }
  // Answered once every restart has ended, in the order asked.
  struct Pending {
    ControlServer::Responder responder;
    nlohmann::json results = nlohmann::json::array();
    size_t open = 0;
    bool failed = false;
    bool asking = true;  // answers that come while still asking wait

    void Finish() {
      if (open != 0 || asking) return;
      nlohmann::json body = {{"services", std::move(results)}};
      if (failed) {
        std::string why;
        for (const auto& r : body["services"]) {
          if (!r["ok"].get<bool>()) {
            why += (why.empty() ? "" : "; ") + r["name"].get<std::string>() +
                   ": " + r["error"].get<std::string>();
          }
        }
        responder.Send(ErrorReply(kErrFailed, why));
      } else {
        responder.Send(OkReply(std::move(body)));
      }
    }
  };
  auto pending = std::make_shared<Pending>();
  pending->responder = std::move(responder);
  for (Service* s : sel.services) {
    const size_t index = pending->results.size();
    pending->results.push_back({{"name", s->name()}, {"ok", false}});
    spdlog::info("control: restart {} by {}", s->name(), who);
    ++pending->open;
    watchd::Status asked =
        s->RestartNow([pending, index](const watchd::Status& st) {
          auto& r = pending->results[index];
          r["ok"] = st.ok();
          if (!st.ok()) {
            r["error"] = st.message();
            pending->failed = true;
          }
          --pending->open;
          pending->Finish();
        });
    if (!asked.ok()) {
      --pending->open;
      pending->results[index]["error"] = asked.message();
      pending->failed = true;
    }
  }
  pending->asking = false;
  pending->Finish();
}

}  // namespace watchd
