#include "watchctl/render.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

using std::chrono::seconds;

// 2026-12-06T12:00:00Z
const auto kNow = std::chrono::system_clock::from_time_t(1796558400);

nlohmann::json Summary(const std::string& name, const std::string& state,
                       const std::string& reason = "") {
  return {{"name", name},
          {"state", state},
          {"reason", reason},
          {"since", "2026-12-06T11:57:00.000Z"}};
}

TEST(WatchctlRender, SummaryColumnsAlignWithoutColour) {
  nlohmann::json s = nlohmann::json::array(
      {Summary("web", "hung", "check health failing: status 503"),
       Summary("database", "ok")});
  RenderOptions o;
  o.now = kNow;
  EXPECT_EQ(RenderSummary(s, o),
            "SERVICE   STATE  SINCE     REASON\n"
            "web       hung   3m        check health failing: status 503\n"
            "database  ok     3m\n");
}

TEST(WatchctlRender, ColourOnlyWhenAskedAndColumnsStillAlign) {
  nlohmann::json s = nlohmann::json::array({Summary("web", "hung", "x")});
  RenderOptions o;
  o.now = kNow;
  o.color = true;
  std::string out = RenderSummary(s, o);
  EXPECT_NE(out.find("\033[1;31mhung\033[0m   3m"), std::string::npos) << out;
}

TEST(WatchctlRender, StatusBlock) {
  nlohmann::json svc = Summary("web", "hung", "check health failing");
  svc["pid"] = 1234;
  svc["uptime_seconds"] = 7380;
  svc["memory_bytes"] = 12.5 * 1024 * 1024;
  svc["paused"] = false;
  svc["supervisor"] = {
      {"name", "main"}, {"type", "supervisord"}, {"program", "web"}};
  svc["restarts"] = {{"total", 2},         {"recent", 1},
                     {"limit", 3},         {"within_seconds", 600},
                     {"in_flight", false}, {"next_allowed", nullptr}};
  svc["depends_on"] = {"db"};
  svc["checks"] =
      nlohmann::json::array({{{"name", "health"},
                              {"kind", "http"},
                              {"state", "failing"},
                              {"last",
                               {{"result", "failure"},
                                {"reason", "status 503"},
                                {"latency_seconds", 0.0031},
                                {"time", "2026-12-06T11:59:58.000Z"}}}},
                             {{"name", "alive"},
                              {"kind", "process"},
                              {"state", "pending"},
                              {"last", nullptr}}});
  RenderOptions o;
  o.now = kNow;
  std::string out = RenderStatus(nlohmann::json::array({svc}), o);
  EXPECT_NE(out.find("web  hung since "), std::string::npos) << out;
  EXPECT_NE(out.find(", 3m ago\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  reason      check health failing\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("  pid         1234, up 2h3m\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("  memory      12.5 MiB\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  supervisor  main (supervisord), program web\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  restarts    2 total, 1 within 10m (limit 3)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  depends on  db\n"), std::string::npos) << out;
  EXPECT_NE(out.find("    health  http     failing  status 503 (failure, 3 "
                     "ms, 2.0s ago)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("    alive   process  pending  no result yet\n"),
            std::string::npos)
      << out;
}

TEST(WatchctlRender, SecondsSinceReadsOnlyUtc) {
  EXPECT_DOUBLE_EQ(*SecondsSince("2026-12-06T11:59:30.500Z", kNow), 29.5);
  EXPECT_FALSE(SecondsSince("yesterday", kNow).has_value());
  EXPECT_FALSE(SecondsSince("2026-12-06T11:59:30.500+01:00", kNow).has_value());
}

}  // namespace
}  // namespace watchd
