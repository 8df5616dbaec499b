#include "watchctl/render.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/human_units.h"

namespace watchd {
namespace {

const char* Color(const std::string& state) {
  if (state == "ok" || state == "passing") return "\033[32m";
  if (state == "hung" || state == "dead" || state == "failing") {
    return "\033[1;31m";
  }
  return "\033[33m";
}

std::string Paint(const std::string& state, const RenderOptions& o,
                  size_t width = 0) {
  std::string text = state;
  if (text.size() < width) text.append(width - text.size(), ' ');
  if (!o.color) return text;
  // Padding outside the colour codes keeps columns aligned.
  return Color(state) + state + "\033[0m" + text.substr(state.size());
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// "16:26:33" today, "2026-12-05 16:26" otherwise, in local time.
std::string LocalTime(const std::string& rfc3339,
                      std::chrono::system_clock::time_point now) {
  auto ago = SecondsSince(rfc3339, now);
  if (!ago) return rfc3339;
  auto t =
      now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::duration<double>(*ago));
  time_t secs = std::chrono::system_clock::to_time_t(t);
  time_t now_secs = std::chrono::system_clock::to_time_t(now);
  tm local{}, today{};
  localtime_r(&secs, &local);
  localtime_r(&now_secs, &today);
  char buf[32];
  if (local.tm_year == today.tm_year && local.tm_yday == today.tm_yday) {
    strftime(buf, sizeof(buf), "%H:%M:%S", &local);
  } else {
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &local);
  }
  return buf;
}

std::string Since(const std::string& rfc3339,
                  std::chrono::system_clock::time_point now) {
  auto ago = SecondsSince(rfc3339, now);
  if (!ago) return rfc3339;
  return LocalTime(rfc3339, now) + ", " + HumanDuration(*ago) + " ago";
}

}  // namespace

std::optional<double> SecondsSince(const std::string& rfc3339,
                                   std::chrono::system_clock::time_point now) {
  tm utc{};
  int ms = 0;
  char z = 0;
  if (sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &utc.tm_year,
             &utc.tm_mon, &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec,
             &ms, &z) != 8 ||
      z != 'Z') {
    return std::nullopt;
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  time_t secs = timegm(&utc);
  auto t = std::chrono::system_clock::from_time_t(secs) +
           std::chrono::milliseconds(ms);
  return std::chrono::duration<double>(now - t).count();
}

std::string RenderSummary(const nlohmann::json& services,
                          const RenderOptions& options) {
  size_t name_w = 7;  // "SERVICE"
  size_t state_w = 5;
  for (const auto& s : services) {
    name_w = std::max(name_w, Str(s, "name").size());
    state_w = std::max(state_w, Str(s, "state").size());
  }
  std::string out = Pad("SERVICE", name_w) + "  " + Pad("STATE", state_w) +
                    "  " + Pad("SINCE", 8) + "  REASON\n";
  for (const auto& s : services) {
    auto ago = SecondsSince(Str(s, "since"), options.now);
    out += Pad(Str(s, "name"), name_w) + "  " +
           Paint(Str(s, "state"), options, state_w) + "  " +
           Pad(ago ? HumanDuration(*ago) : "-", 8) + "  " + Str(s, "reason");
    // No trailing blanks on a line without a reason.
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  return out;
}

std::string RenderStatus(const nlohmann::json& services,
                         const RenderOptions& options) {
  std::string out;
  for (const auto& s : services) {
    if (!out.empty()) out += "\n";
    const std::string state = Str(s, "state");
    out += Str(s, "name") + "  " + Paint(state, options) + " since " +
           Since(Str(s, "since"), options.now) + "\n";
    auto row = [&out](const char* label, const std::string& value) {
      out += "  " + Pad(label, 12) + value + "\n";
    };
    if (!Str(s, "reason").empty()) row("reason", Str(s, "reason"));
    if (s.value("paused", false))
      row("paused", "by the operator (watchctl resume)");
    if (s.contains("pid") && s["pid"].is_number()) {
      std::string p = std::to_string(s["pid"].get<long>());
      if (s["uptime_seconds"].is_number()) {
        p += ", up " + HumanDuration(s["uptime_seconds"].get<double>());
      }
      row("pid", p);
    }
    if (s.contains("memory_bytes") && s["memory_bytes"].is_number()) {
      row("memory", HumanBytes(s["memory_bytes"].get<double>()));
    }
    if (s.contains("supervisor") && s["supervisor"].is_object()) {
      const auto& sup = s["supervisor"];
      row("supervisor", Str(sup, "name") + " (" + Str(sup, "type") +
                            "), program " + Str(sup, "program"));
    }
    if (s.contains("restarts") && s["restarts"].is_object() &&
        s.contains("supervisor") && s["supervisor"].is_object()) {
      const auto& r = s["restarts"];
      std::string text = std::to_string(r.value("total", 0)) + " total, " +
                         std::to_string(r.value("recent", 0)) + " within " +
                         HumanDuration(r.value("within_seconds", 0.0)) +
                         " (limit " + std::to_string(r.value("limit", 0)) + ")";
      if (r.value("in_flight", false)) text += "; one running now";
      if (r.contains("next_allowed") && r["next_allowed"].is_string()) {
        text += "; next allowed at " +
                LocalTime(r["next_allowed"].get<std::string>(), options.now);
      }
      row("restarts", text);
    }
    if (s.contains("depends_on") && s["depends_on"].is_array() &&
        !s["depends_on"].empty()) {
      std::string deps;
      for (const auto& d : s["depends_on"]) {
        if (d.is_string())
          deps += (deps.empty() ? "" : ", ") + d.get<std::string>();
      }
      row("depends on", deps);
    }
    if (!s.contains("checks") || !s["checks"].is_array()) continue;
    size_t name_w = 0, kind_w = 0;
    for (const auto& c : s["checks"]) {
      name_w = std::max(name_w, Str(c, "name").size());
      kind_w = std::max(kind_w, Str(c, "kind").size());
    }
    out += "  checks\n";
    for (const auto& c : s["checks"]) {
      std::string line = "    " + Pad(Str(c, "name"), name_w) + "  " +
                         Pad(Str(c, "kind"), kind_w) + "  " +
                         Paint(Str(c, "state"), options, 7) + "  ";
      if (c.contains("last") && c["last"].is_object()) {
        const auto& last = c["last"];
        auto ago = SecondsSince(Str(last, "time"), options.now);
        char latency[32];
        snprintf(latency, sizeof(latency), "%.0f ms",
                 last.value("latency_seconds", 0.0) * 1000);
        line += Str(last, "reason") + " (" + Str(last, "result") + ", " +
                latency + ", " + (ago ? HumanDuration(*ago) + " ago" : "?") +
                ")";
      } else {
        line += "no result yet";
      }
      out += line + "\n";
    }
  }
  return out;
}

}  // namespace watchd
