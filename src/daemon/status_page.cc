#include "daemon/status_page.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <utility>

#include "core/event_loop.h"
#include "core/human_units.h"
#include "core/state_order.h"
#include "core/version.h"
#include "daemon/status_json.h"
#include "daemon/systemd_notifier.h"
#include "health/service.h"
#include "os/procfs.h"

namespace watchd {
namespace {

// A state as a CSS class name: only names the style sheet knows, so a
// state string can never inject a class or break out of the attribute.
std::string_view StateClass(std::string_view state) {
  for (std::string_view known : kStatesWorstFirst) {
    if (state == known) return known;
  }
  for (std::string_view check : {"pending", "passing"}) {
    if (state == check) return check;
  }
  return "unknown";
}

// How a row is marked: bad (red), warn (amber) or good (green).
std::string_view Tone(std::string_view state) {
  if (state == "ok" || state == "passing") return "good";
  if (state == "hung" || state == "dead" || state == "failing") return "bad";
  return "warn";
}

// The browser cannot tell the reader's time zone without a script, so
// times are in UTC: "16:26:33 UTC" on the day of `now`, else with the date.
std::string UtcTime(std::chrono::system_clock::time_point t,
                    std::chrono::system_clock::time_point now) {
  time_t secs = std::chrono::system_clock::to_time_t(t);
  time_t now_secs = std::chrono::system_clock::to_time_t(now);
  tm utc{}, today{};
  gmtime_r(&secs, &utc);
  gmtime_r(&now_secs, &today);
  char buf[40];
  strftime(buf, sizeof(buf),
           utc.tm_year == today.tm_year && utc.tm_yday == today.tm_yday
               ? "%H:%M:%S UTC"
               : "%Y-%m-%d %H:%M:%S UTC",
           &utc);
  return buf;
}

std::chrono::system_clock::time_point Ago(
    std::chrono::system_clock::time_point now, double seconds) {
  return now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                   std::chrono::duration<double>(seconds));
}

StatusPageService SnapshotService(
    const Service& service,
    const std::map<std::string, SupervisorConfig>& supervisors, TimePoint now) {
  StatusPageService s;
  const ServiceConfig& config = service.config();
  s.name = service.name();
  s.state = ServiceStateName(service.state());
  s.reason = service.reason();
  s.since_seconds = ToSeconds(now - service.since());
  s.paused = service.paused();
  if (std::optional<ProcessIdentity> process = service.process()) {
    s.pid = process->pid;
    s.start_time = process->start_time;
  }
  if (config.supervisor) {
    auto it = supervisors.find(*config.supervisor);
    s.supervisor =
        *config.supervisor + " (" +
        (it == supervisors.end() ? std::string("?")
                                 : SupervisorTypeName(it->second.type)) +
        "), program " + config.program;
    const Service::RestartInfo restarts = service.restart_info();
    s.restarts_total = restarts.total;
    s.restarts_recent = restarts.recent;
    s.restart_limit = config.restart_limit.max;
    s.restart_within_seconds = ToSeconds(config.restart_limit.within);
    s.restart_in_flight = restarts.in_flight;
    if (restarts.next_allowed > now) {
      s.next_restart_in_seconds = ToSeconds(restarts.next_allowed - now);
    }
  }
  s.depends_on = config.depends_on;
  s.checks.reserve(service.checks().size());
  for (const auto& check : service.checks()) {
    StatusPageCheck& c = s.checks.emplace_back();
    c.name = check->name();
    c.kind = check->kind();
    c.state = CheckStateName(check->state());
    c.restarts_service = check->on_failure() == OnFailure::kRestart;
    if (const auto& last = check->last_result()) {
      c.last = StatusPageCheck::Last{
          ProbeOutcomeName(last->outcome), last->reason,
          ToSeconds(check->last_duration()), ToSeconds(now - check->last_at())};
    }
  }
  return s;
}

void AppendState(std::string* out, std::string_view state) {
  out->append("<span class=\"state state-");
  out->append(StateClass(state));
  out->append("\">");
  out->append(EscapeHtml(state));
  out->append("</span>");
}

void RenderCheck(std::string* out, const StatusPageCheck& c,
                 std::chrono::system_clock::time_point now) {
  out->append("<tr class=\"check\" data-check=\"");
  out->append(EscapeHtml(c.name));
  out->append("\" data-state=\"");
  out->append(StateClass(c.state));
  out->append("\"><td class=\"check-name\">");
  out->append(EscapeHtml(c.name));
  out->append("</td><td class=\"kind\">");
  out->append(EscapeHtml(c.kind));
  if (c.restarts_service) {
    out->append(" <span class=\"sub\" title=\"on_failure: restart\">");
    out->append("restart</span>");
  }
  out->append("</td><td>");
  AppendState(out, c.state);
  out->append("</td><td class=\"last\">");
  if (c.last) {
    char latency[32];
    snprintf(latency, sizeof(latency), "%.0f ms",
             c.last->latency_seconds * 1000);
    out->append("<span class=\"last-reason\">");
    out->append(EscapeHtml(c.last->reason));
    out->append("</span> <span class=\"sub\" title=\"");
    out->append(FormatRfc3339(Ago(now, c.last->age_seconds)));
    out->append("\">(");
    out->append(EscapeHtml(c.last->result));
    out->append(", ");
    out->append(latency);
    out->append(", ");
    out->append(HumanDuration(c.last->age_seconds));
    out->append(" ago)</span>");
  } else {
    out->append("<span class=\"sub\">no result yet</span>");
  }
  out->append("</td></tr>\n");
}

void RenderService(std::string* out, const StatusPageService& s,
                   std::chrono::system_clock::time_point now) {
  const std::string name = EscapeHtml(s.name);
  out->append("<tr class=\"service tone-");
  out->append(Tone(s.state));
  out->append("\" id=\"service-");
  out->append(name);
  out->append("\" data-state=\"");
  out->append(StateClass(s.state));
  out->append("\">\n<td class=\"service-name\"><strong>");
  out->append(name);
  out->append("</strong>");
  if (!s.supervisor.empty()) {
    out->append("<div class=\"sub\">");
    out->append(EscapeHtml(s.supervisor));
    out->append("</div>");
  }
  if (!s.depends_on.empty()) {
    out->append("<div class=\"sub\">depends on ");
    for (size_t i = 0; i < s.depends_on.size(); ++i) {
      if (i > 0) out->append(", ");
      out->append(EscapeHtml(s.depends_on[i]));
    }
    out->append("</div>");
  }
  out->append("</td>\n<td class=\"service-state\">");
  AppendState(out, s.state);
  const auto since = Ago(now, s.since_seconds);
  out->append(" <span class=\"sub\" title=\"");
  out->append(FormatRfc3339(since));
  out->append("\">for ");
  out->append(HumanDuration(s.since_seconds));
  out->append(", since ");
  out->append(UtcTime(since, now));
  out->append("</span>");
  if (!s.reason.empty()) {
    out->append("<div class=\"reason\">");
    out->append(EscapeHtml(s.reason));
    out->append("</div>");
  }
  if (s.paused) {
    out->append(
        "<div class=\"sub\">paused by the operator (watchctl resume)</div>");
  }
  out->append("</td>\n<td class=\"process\">");
  if (s.pid > 0) {
    out->append("pid ");
    out->append(std::to_string(s.pid));
    if (s.uptime_seconds) {
      out->append(", up ");
      out->append(HumanDuration(*s.uptime_seconds));
    }
    if (s.memory_bytes) {
      out->append("<div class=\"sub\">");
      out->append(HumanBytes(static_cast<double>(*s.memory_bytes)));
      out->append("</div>");
    }
  } else {
    out->append("<span class=\"sub\">none known</span>");
  }
  out->append("</td>\n<td class=\"restarts\">");
  if (!s.supervisor.empty()) {
    out->append(std::to_string(s.restarts_total));
    out->append(" total, ");
    out->append(std::to_string(s.restarts_recent));
    out->append(" within ");
    out->append(HumanDuration(s.restart_within_seconds));
    out->append(" (limit ");
    out->append(std::to_string(s.restart_limit));
    out->append(")");
    if (s.restart_in_flight) {
      out->append("<div class=\"sub\">one running now</div>");
    }
    if (s.next_restart_in_seconds) {
      out->append("<div class=\"sub\">next allowed in ");
      out->append(HumanDuration(*s.next_restart_in_seconds));
      out->append("</div>");
    }
  } else {
    out->append("<span class=\"sub\">no supervisor</span>");
  }
  out->append("</td>\n<td class=\"checks\">");
  if (s.checks.empty()) {
    out->append("<span class=\"sub\">no checks</span>");
  } else {
    out->append("<table class=\"checks\">\n");
    for (const StatusPageCheck& c : s.checks) RenderCheck(out, c, now);
    out->append("</table>");
  }
  out->append("</td>\n</tr>\n");
}

// Inline (the page loads nothing else: its Content-Security-Policy
// allows inline styles and nothing more).
constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
margin:1.2em 1.5em;color:#1f2328;background:#f6f8fa}
h1{font-size:1.45em;margin:0 0 .15em}
h1 .host{font-weight:400;color:#57606a}
a{color:#0969da}
.meta,.sub{color:#57606a;font-size:.88em}
.counts{margin:.6em 0 .9em}
.counts .state{margin-right:.35em}
table.services{border-collapse:collapse;width:100%;background:#fff;
border:1px solid #d0d7de}
table.services>thead>tr>th{text-align:left;background:#eaeef2;
padding:.45em .7em;border-bottom:1px solid #d0d7de;font-weight:600}
tr.service>td{padding:.5em .7em;border-bottom:1px solid #d8dee4;
vertical-align:top}
tr.service>td:first-child{border-left:5px solid #2da44e}
tr.tone-bad>td:first-child{border-left-color:#cf222e}
tr.tone-warn>td:first-child{border-left-color:#bf8700}
tr.tone-bad{background:#fff8f8}
.state{display:inline-block;font-weight:600;padding:0 .5em;border-radius:.8em;
font-size:.92em;white-space:nowrap}
td.process,td.restarts{white-space:nowrap}
.state-hung,.state-dead,.state-failing{background:#ffebe9;color:#a40e26}
.state-restarting,.state-blocked,.state-unknown,.state-starting,
.state-unmonitored,.state-pending{background:#fff8c5;color:#7d4e00}
.state-ok,.state-passing{background:#dafbe1;color:#116329}
.reason{margin-top:.25em}
table.checks{border-collapse:collapse}
table.checks td{padding:.08em .8em .08em 0;vertical-align:top}
.check-name{font-weight:600}
.kind{color:#57606a}
.last-reason{word-break:break-word}
.omitted{background:#fff8c5;padding:.4em .7em;border:1px solid #d4a72c}
</style>
)";

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

StatusPageData SnapshotStatusPage(
    const std::vector<std::unique_ptr<Service>>& services,
    const std::map<std::string, SupervisorConfig>& supervisors, TimePoint now,
    size_t max_services) {
  StatusPageData data;
  data.now = std::chrono::system_clock::now();
  data.total_services = services.size();
  std::array<int, kServiceStateCount> severity{};
  for (size_t i = 0; i < kServiceStateCount; ++i) {
    severity[i] = StateSeverity(ServiceStateName(static_cast<ServiceState>(i)));
  }
  std::array<size_t, kServiceStateCount> counts{};
  struct Entry {
    int severity;
    const Service* service;
  };
  std::vector<Entry> entries;
  entries.reserve(services.size());
  for (const auto& service : services) {
    const auto state = static_cast<size_t>(service->state());
    ++counts[state];
    entries.push_back({severity[state], service.get()});
  }
  for (size_t i = 0; i < kServiceStateCount; ++i) {
    if (counts[i] != 0) {
      data.state_counts[ServiceStateName(static_cast<ServiceState>(i))] =
          counts[i];
    }
  }
  if (entries.size() > max_services) {
    std::nth_element(entries.begin(), entries.begin() + max_services,
                     entries.end(), [](const Entry& a, const Entry& b) {
                       return ShownBefore(a.severity, a.service->name(),
                                          b.severity, b.service->name());
                     });
    entries.resize(max_services);
  }
  data.services.reserve(entries.size());
  for (const Entry& e : entries) {
    data.services.push_back(SnapshotService(*e.service, supervisors, now));
  }
  return data;
}

void ReadProcesses(StatusPageData* data) {
  for (StatusPageService& s : data->services) {
    if (s.pid <= 0) continue;
    Result<ProcStat> stat = ReadProcStat(s.pid);
    // A pid now held by another process says nothing about this one.
    if (!stat.ok() || stat->start_time != s.start_time) continue;
    s.uptime_seconds = ProcessUptimeSeconds(s.start_time);
    s.memory_bytes = stat->rss_bytes;
  }
}

std::string RenderStatusPage(const StatusPageData& data) {
  std::vector<const StatusPageService*> order;
  order.reserve(data.services.size());
  for (const StatusPageService& s : data.services) order.push_back(&s);
  std::stable_sort(order.begin(), order.end(),
                   [](const StatusPageService* a, const StatusPageService* b) {
                     return ShownBefore(StateSeverity(a->state), a->name,
                                        StateSeverity(b->state), b->name);
                   });
  std::vector<std::pair<std::string, size_t>> counts(data.state_counts.begin(),
                                                     data.state_counts.end());
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& a, const auto& b) {
                     return StateSeverity(a.first) < StateSeverity(b.first);
                   });
  std::string tally;
  for (const auto& [state, count] : counts) {
    if (!tally.empty()) tally.append(", ");
    tally.append(std::to_string(count) + " " + state);
  }
  const std::string host = EscapeHtml(data.host);

  std::string out;
  out.reserve(8192 + data.services.size() * 1536);
  out.append(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"refresh\" content=\"");
  out.append(std::to_string(kStatusPageRefreshSeconds));
  out.append(
      "\">\n<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n<title>watchd on ");
  out.append(host);
  if (!tally.empty()) {
    out.append(": ");
    out.append(EscapeHtml(tally));
  }
  out.append("</title>\n");
  out.append(kStyle);
  out.append("</head>\n<body>\n<h1>watchd <span class=\"host\">on ");
  out.append(host);
  out.append("</span></h1>\n<p class=\"meta\">version ");
  out.append(EscapeHtml(data.version));
  out.append(" &middot; pid ");
  out.append(std::to_string(data.pid));
  out.append(" &middot; up ");
  out.append(HumanDuration(data.uptime_seconds));
  out.append(" &middot; <span title=\"");
  out.append(FormatRfc3339(data.now));
  out.append("\">as of ");
  out.append(UtcTime(data.now, data.now));
  out.append("</span> &middot; read-only, refreshes every ");
  out.append(std::to_string(kStatusPageRefreshSeconds));
  out.append(" s &middot; <a href=\"/metrics\">metrics</a></p>\n");

  out.append("<p class=\"counts\">");
  out.append(std::to_string(data.total_services));
  out.append(data.total_services == 1 ? " service" : " services");
  if (!counts.empty()) out.append(": ");
  for (const auto& [state, count] : counts) {
    out.append("<span class=\"state state-");
    out.append(StateClass(state));
    out.append("\">");
    out.append(std::to_string(count));
    out.append(" ");
    out.append(EscapeHtml(state));
    out.append("</span>");
  }
  out.append("</p>\n");
  if (data.services.size() < data.total_services) {
    out.append("<p class=\"omitted\">Showing the ");
    out.append(std::to_string(data.services.size()));
    out.append(" least healthy of ");
    out.append(std::to_string(data.total_services));
    out.append(" services; <code>watchctl status</code> shows them all.</p>\n");
  }
  if (order.empty()) {
    out.append("<p>No services are configured.</p>\n");
  } else {
    out.append(
        "<table class=\"services\">\n<thead><tr><th>Service</th><th>State"
        "</th><th>Process</th><th>Restarts</th><th>Checks</th></tr></thead>\n"
        "<tbody>\n");
    for (const StatusPageService* s : order) RenderService(&out, *s, data.now);
    out.append("</tbody>\n</table>\n");
  }
  out.append("</body>\n</html>\n");
  return out;
}

ScrapeServer::AskPage StatusPageAsker(
    EventLoop* loop, const std::vector<std::unique_ptr<Service>>* services,
    const std::map<std::string, SupervisorConfig>* supervisors) {
  char name[256] = {};
  std::string host =
      gethostname(name, sizeof(name) - 1) == 0 ? name : "localhost";
  const TimePoint started = loop->Now();
  // The server's threads call this; the loop never waits on them.
  return [loop, services, supervisors, host = std::move(host),
          started](PageReply reply) {
    loop->RunInLoop(
        [loop, services, supervisors, host, started, reply = std::move(reply)] {
          auto data = std::make_shared<StatusPageData>(
              SnapshotStatusPage(*services, *supervisors, loop->Now()));
          data->host = host;
          data->version = WATCHD_VERSION;
          data->pid = getpid();
          data->uptime_seconds = ToSeconds(loop->Now() - started);
          reply.Send([data] {
            ReadProcesses(data.get());
            return RenderStatusPage(*data);
          });
        });
  };
}

}  // namespace watchd
