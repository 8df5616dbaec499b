#include "daemon/status_page.h"

#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "core/random.h"
#include "health/service.h"
#include "os/process_table.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

StatusPageService Svc(const std::string& name, const std::string& state,
                      const std::string& reason = "") {
  StatusPageService s;
  s.name = name;
  s.state = state;
  s.reason = reason;
  s.since_seconds = 42;
  return s;
}

StatusPageCheck Chk(const std::string& name, const std::string& state,
                    const std::string& reason) {
  StatusPageCheck c;
  c.name = name;
  c.kind = "http";
  c.state = state;
  c.last = StatusPageCheck::Last{"failure", reason, 0.003, 1.2};
  return c;
}

StatusPageData Data(std::vector<StatusPageService> services) {
  StatusPageData d;
  d.host = "box";
  d.version = "0.1.0";
  d.pid = 812;
  d.uptime_seconds = 11532;
  d.now = std::chrono::system_clock::now();
  d.total_services = services.size();
  for (const auto& s : services) ++d.state_counts[s.state];
  d.services = std::move(services);
  return d;
}

size_t Find(const std::string& page, const std::string& text) {
  size_t at = page.find(text);
  EXPECT_NE(at, std::string::npos) << "missing: " << text;
  return at;
}

TEST(StatusPageTest, EscapesEverythingFromConfigsAndTheNetwork) {
  const std::string hostile = "<b>\"x\" & 'y'</b>";
  StatusPageService s = Svc("web" + hostile, "hung", "reason " + hostile);
  s.supervisor = "main (command), program " + hostile;
  s.depends_on = {"db" + hostile};
  s.checks = {Chk("health" + hostile, "failing",
                  "<script>alert(1)</script><img src=x onerror=alert(2)>")};
  s.checks[0].kind = "exec" + hostile;
  StatusPageData data = Data({s});
  data.host = "host" + hostile;
  data.version = "1<i>";
  const std::string page = RenderStatusPage(data);

  const std::string escaped =
      "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;";
  EXPECT_EQ(EscapeHtml(hostile), escaped);
  Find(page, "id=\"service-web" + escaped + "\"");
  Find(page, "<strong>web" + escaped + "</strong>");
  Find(page, "<div class=\"reason\">reason " + escaped + "</div>");
  Find(page, "program " + escaped);
  Find(page, "depends on db" + escaped);
  Find(page, "data-check=\"health" + escaped + "\"");
  Find(page, "exec" + escaped);
  Find(page,
       "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x "
       "onerror=alert(2)&gt;");
  Find(page, "<title>watchd on host" + escaped);
  Find(page, "version 1&lt;i&gt;");
  for (const char* raw : {"<b>", "<script", "<img", "<i>", "'y'"}) {
    EXPECT_EQ(page.find(raw), std::string::npos) << raw;
  }
}

TEST(StatusPageTest, ListsServicesWorstStateFirstThenByName) {
  const std::string page = RenderStatusPage(Data(
      {Svc("a", "ok"), Svc("b-ok", "ok"), Svc("z", "hung"),
       Svc("paused", "unmonitored"), Svc("y", "failing"), Svc("d", "dead"),
       Svc("x", "hung"), Svc("r", "restarting"), Svc("bl", "blocked"),
       Svc("odd", "nonsense"), Svc("s", "starting"), Svc("u", "unknown")}));
  const std::vector<std::string> order = {
      "x", "z", "d", "y", "r", "bl",
      // An unknown state name sorts with "unknown", then by name.
      "odd", "u", "s", "paused", "a", "b-ok"};
  size_t last = 0;
  for (const std::string& name : order) {
    size_t at = Find(page, "id=\"service-" + name + "\"");
    EXPECT_GT(at, last) << name;
    last = at;
  }
  // The tally, worst first, in the header and the title.
  Find(page,
       "<title>watchd on box: 2 hung, 1 dead, 1 failing, 1 restarting, "
       "1 blocked, ");
  size_t hung = Find(page, "<span class=\"state state-hung\">2 hung</span>");
  size_t ok = Find(page, "<span class=\"state state-ok\">2 ok</span>");
  EXPECT_LT(hung, ok);
  Find(page, "12 services: ");
}

TEST(StatusPageTest, MarksRowsAndChecksWithTheirStates) {
  StatusPageService hung = Svc("web", "hung");
  hung.checks = {Chk("health", "failing", "timeout after 2s"),
                 Chk("alive", "passing", "pid 1 sleeping")};
  hung.checks.push_back(StatusPageCheck{"new", "tcp", "pending", false, {}});
  StatusPageService odd = Svc("odd", "x\" onmouseover=\"y");
  const std::string page = RenderStatusPage(
      Data({hung, Svc("db", "ok"), Svc("cache", "starting"), odd}));
  Find(page,
       "<tr class=\"service tone-bad\" id=\"service-web\" "
       "data-state=\"hung\">");
  Find(page,
       "<tr class=\"service tone-good\" id=\"service-db\" "
       "data-state=\"ok\">");
  Find(page,
       "<tr class=\"service tone-warn\" id=\"service-cache\" "
       "data-state=\"starting\">");
  Find(page, "<span class=\"state state-hung\">hung</span>");
  Find(page,
       "<tr class=\"check\" data-check=\"health\" "
       "data-state=\"failing\">");
  Find(page, "<span class=\"state state-failing\">failing</span>");
  Find(page, "<span class=\"state state-passing\">passing</span>");
  Find(page, "<span class=\"state state-pending\">pending</span>");
  Find(page, "<span class=\"sub\">no result yet</span>");
  // A state the style sheet does not know is shown, escaped, as unknown.
  Find(page, "id=\"service-odd\" data-state=\"unknown\">");
  Find(page,
       "<span class=\"state state-unknown\">x&quot; "
       "onmouseover=&quot;y</span>");
  EXPECT_EQ(page.find("onmouseover=\"y"), std::string::npos);
}

TEST(StatusPageTest, ShowsWhatWatchctlStatusShows) {
  StatusPageService s = Svc("web", "hung", "check health failing: status 503");
  s.supervisor = "main (supervisord), program web";
  s.pid = 4242;
  s.uptime_seconds = 11520;
  s.memory_bytes = 50647040;
  s.restarts_total = 1;
  s.restarts_recent = 1;
  s.restart_limit = 3;
  s.restart_within_seconds = 600;
  s.restart_in_flight = true;
  s.next_restart_in_seconds = 30;
  s.paused = true;
  s.depends_on = {"db", "cache"};
  s.checks = {Chk("health", "failing", "status 503")};
  s.checks[0].restarts_service = true;
  StatusPageService probed = Svc("api", "ok");
  const std::string page = RenderStatusPage(Data({s, probed}));

  Find(page, "<meta http-equiv=\"refresh\" content=\"5\">");
  Find(page, "<meta charset=\"utf-8\">");
  Find(page, "<a href=\"/metrics\">metrics</a>");
  Find(page, "version 0.1.0 &middot; pid 812 &middot; up 3h12m");
  Find(page, "read-only, refreshes every 5 s");
  Find(page, ">for 42s, since ");
  Find(page, "<div class=\"reason\">check health failing: status 503</div>");
  Find(page, "paused by the operator (watchctl resume)");
  Find(page, "pid 4242, up 3h12m<div class=\"sub\">48.3 MiB</div>");
  Find(page, "main (supervisord), program web");
  Find(page, "depends on db, cache");
  Find(page, "1 total, 1 within 10m (limit 3)");
  Find(page, "one running now");
  Find(page, "next allowed in 30s");
  Find(page, "<span class=\"last-reason\">status 503</span>");
  Find(page, "(failure, 3 ms, 1.2s ago)");
  Find(page, "title=\"on_failure: restart\">restart</span>");
  Find(page, "<span class=\"sub\">no supervisor</span>");
  Find(page, "<span class=\"sub\">none known</span>");
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("Showing the"), std::string::npos);
}

TEST(StatusPageTest, SaysHowManyServicesAreLeftOut) {
  StatusPageData data = Data({Svc("web", "hung"), Svc("db", "ok")});
  data.total_services = 5000;
  data.state_counts["ok"] = 4999;
  const std::string page = RenderStatusPage(data);
  Find(page,
       "Showing the 2 least healthy of 5000 services; "
       "<code>watchctl status</code> shows them all.");
  Find(page, "5000 services: ");

  const std::string empty = RenderStatusPage(Data({}));
  Find(empty, "0 services</p>");
  Find(empty, "No services are configured.");
}

// --- the loop's side: a snapshot of real services --------------------------

// Every run answers with the outcome its service was made with.
class FixedProbe : public Probe {
 public:
  FixedProbe(ProbeOutcome outcome, std::string reason)
      : outcome_(outcome), reason_(std::move(reason)) {}
  void Start(Duration, DoneCallback done) override {
    done(ProbeResult(outcome_, reason_));
  }
  void Cancel() override {}

 private:
  ProbeOutcome outcome_;
  std::string reason_;
};

struct NoObserver : ServiceObserver, CheckObserver {
  void OnServiceStateChange(const Service&, ServiceState, ServiceState,
                            const std::string&) override {}
  void OnRestart(const Service&, const std::string&,
                 const std::string&) override {}
  void OnRestartDone(const Service&, const Status&) override {}
  void OnEscalation(const Service&, const ProcessIdentity&, int,
                    const Status&) override {}
  void OnResidentMemory(const Service&, uint64_t) override {}
  void OnNotice(const Service&, const std::string&) override {}
  void OnProbeDone(const Check&, const ProbeResult&, Duration,
                   Duration) override {}
  void OnStateChange(const Check&, CheckState, CheckState) override {}
};

class StatusPageSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  // A service only probed, with a passing check and one that passes or
  // fails (alert) as told; each has its first result once Settle returns.
  void Add(const std::string& name, bool failing) {
    ServiceConfig config;
    config.name = name;
    auto service = std::make_unique<Service>(config, nullptr, &loop_, &random_,
                                             &observer_, SystemProcessTable());
    for (int i = 0; i < 2; ++i) {
      CheckConfig c;
      c.name = i == 0 ? "health" : "port";
      c.probe = ExecProbeConfig{{"/bin/true"}, {}};
      c.interval = seconds(10);
      c.timeout = seconds(2);
      c.jitter = 0;
      c.failures = 1;
      c.on_failure = OnFailure::kAlert;
      const bool fails = failing && i == 0;
      service->AddCheck(
          c,
          std::make_unique<FixedProbe>(
              fails ? ProbeOutcome::kFailure : ProbeOutcome::kSuccess,
              fails ? "status 503 from http://127.0.0.1:8080/health"
                    : "status 200 from http://127.0.0.1:8080/health"),
          &observer_);
    }
    services_.push_back(std::move(service));
  }

  void Settle() {
    for (auto& s : services_) s->Start();
    for (int i = 0; i < 20; ++i) {
      clock_.Advance(milliseconds(1));
      loop_.RunOnce(Duration::zero());
    }
  }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  Random random_{1};
  NoObserver observer_;
  std::map<std::string, SupervisorConfig> supervisors_;
  std::vector<std::unique_ptr<Service>> services_;
};

TEST_F(StatusPageSnapshotTest, CopiesTheLeastHealthyAndCountsAll) {
  for (const char* name : {"e", "d", "c", "b", "a"}) Add(name, false);
  Add("z-bad", true);
  Add("y-bad", true);
  Settle();
  StatusPageData data =
      SnapshotStatusPage(services_, supervisors_, loop_.Now(), 4);
  EXPECT_EQ(data.total_services, 7u);
  EXPECT_EQ(data.state_counts,
            (std::map<std::string, size_t>{{"failing", 2}, {"ok", 5}}));
  ASSERT_EQ(data.services.size(), 4u);
  std::vector<std::string> names;
  for (const auto& s : data.services) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "y-bad", "z-bad"}));

  const StatusPageService* bad = nullptr;
  for (const auto& s : data.services) {
    if (s.name == "y-bad") bad = &s;
  }
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->state, "failing");
  EXPECT_EQ(bad->reason,
            "check health failing: status 503 from "
            "http://127.0.0.1:8080/health");
  EXPECT_EQ(bad->pid, 0);
  EXPECT_EQ(bad->supervisor, "");
  ASSERT_EQ(bad->checks.size(), 2u);
  EXPECT_EQ(bad->checks[0].name, "health");
  EXPECT_EQ(bad->checks[0].kind, "exec");
  EXPECT_EQ(bad->checks[0].state, "failing");
  ASSERT_TRUE(bad->checks[0].last.has_value());
  EXPECT_EQ(bad->checks[0].last->result, "failure");
  EXPECT_EQ(bad->checks[1].state, "passing");

  const std::string page = RenderStatusPage(data);
  Find(page, "Showing the 4 least healthy of 7 services");
  EXPECT_LT(Find(page, "id=\"service-y-bad\""),
            Find(page, "id=\"service-z-bad\""));
  EXPECT_LT(Find(page, "id=\"service-z-bad\""), Find(page, "id=\"service-a\""));
}

// What a page costs at 10,000 services of two checks each: the copy on
// the loop (the cap keeps it small), and the rendering off it. Printed as
// the least CPU time of a few rounds (this thread's, so a busy machine
// does not inflate it).
TEST_F(StatusPageSnapshotTest, TenThousandServices) {
  for (int i = 0; i < 10000; ++i) {
    Add("service-" + std::to_string(i), i % 100 == 0);
  }
  Settle();
  auto cpu_ms = [](const std::function<void()>& f) {
    double best = 1e9;
    for (int round = 0; round < 5; ++round) {
      timespec a{}, b{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
      f();
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
      best = std::min(
          best, (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
    }
    return best;
  };
  StatusPageData capped, all;
  std::string capped_page, all_page;
  const double snapshot_capped = cpu_ms([&] {
    capped = SnapshotStatusPage(services_, supervisors_, loop_.Now(),
                                kStatusPageMaxServices);
  });
  const double snapshot_all = cpu_ms([&] {
    all = SnapshotStatusPage(services_, supervisors_, loop_.Now(), 10000);
  });
  const double render_capped =
      cpu_ms([&] { capped_page = RenderStatusPage(capped); });
  const double render_all = cpu_ms([&] { all_page = RenderStatusPage(all); });
  std::cout << "10,000 services, CPU: on the loop " << snapshot_capped
            << " ms (" << kStatusPageMaxServices << " shown), " << snapshot_all
            << " ms (all shown); rendering " << render_capped << " ms ("
            << capped_page.size() / 1024 << " KiB), " << render_all << " ms ("
            << all_page.size() / 1024 << " KiB)\n";
  EXPECT_EQ(capped.services.size(), kStatusPageMaxServices);
  EXPECT_EQ(capped.state_counts["failing"], 100u);
  EXPECT_EQ(all.services.size(), 10000u);
  // Every failing service makes the cut, ahead of the ok ones.
  size_t failing = 0;
  for (const auto& s : capped.services) failing += s.state == "failing";
  EXPECT_EQ(failing, 100u);
  EXPECT_LT(Find(capped_page, "id=\"service-service-9900\""),
            Find(capped_page, "id=\"service-service-1\""));
}

}  // namespace
}  // namespace watchd
