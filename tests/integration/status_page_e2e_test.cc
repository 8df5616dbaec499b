// End to end: the status page at / of a real watchd, loaded by a real
// browser (headless Chromium, Debian's `chromium`). A service whose process
// lives while its http check hangs shows as hung, listed first; a reason
// from a check's output shows as text, not markup; the page says what
// `watchctl status --json` says. A screenshot is saved in the build
// directory (docs/status-page.png is a copy).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/supervision_e2e.h"
#include "tests/support/wait.h"
#include "tests/support/watchctl_run.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A cold Chromium on a loaded 2-core machine takes a few seconds.
constexpr auto kBrowserTimeout = seconds(120);

// Runs headless Chromium on `url` with `flags`, its stdout to `out_path`;
// true when it exited 0 in time. Its own profile in `dir`, no sandbox (it
// cannot run as root with one), no GPU.
bool RunChromium(const TempDir& dir, const std::string& url,
                 const std::string& flags, const std::string& out_path) {
  Subprocess chromium;
  const std::string script =
      "exec chromium --headless=new --no-sandbox --disable-gpu "
      "--no-first-run --disable-extensions --disable-background-networking "
      "--user-data-dir=" +
      dir.File("profile") + " " + flags + " '" + url + "' >" + out_path +
      " 2>>" + dir.File("chromium.log");
  if (!chromium.Start({"/bin/sh", "-c", script})) return false;
  std::optional<int> status = chromium.Wait(kBrowserTimeout);
  chromium.Stop();
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

// The text of the element that starts at `from` up to the next service row
// (or the end of the table).
std::string Row(const std::string& dom, size_t from) {
  if (from == std::string::npos) return "";
  size_t end = dom.find("<tr class=\"service", from + 1);
  if (end == std::string::npos) end = dom.find("</tbody>", from);
  return dom.substr(from, end == std::string::npos ? end : end - from);
}

// Width and height from a PNG's IHDR chunk; nullopt if it is not a PNG.
std::optional<std::pair<uint32_t, uint32_t>> PngSize(const std::string& png) {
  if (png.size() < 24 || png.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 ||
      png.compare(12, 4, "IHDR") != 0) {
    return std::nullopt;
  }
  auto be32 = [&](size_t at) {
    return (uint32_t{static_cast<uint8_t>(png[at])} << 24) |
           (uint32_t{static_cast<uint8_t>(png[at + 1])} << 16) |
           (uint32_t{static_cast<uint8_t>(png[at + 2])} << 8) |
           uint32_t{static_cast<uint8_t>(png[at + 3])};
  };
  return std::make_pair(be32(16), be32(20));
}

TEST(StatusPageEndToEnd, ChromiumShowsTheHungServiceFirst) {
  TempDir dir;
  const int port = FreePort();
  Subprocess server;
  ASSERT_TRUE(StartTestServer(&server, "tests/servers/http_server.py",
                              {"--port", std::to_string(port)},
                              dir.File("ready"), dir.File("server.log")))
      << ReadFile(dir.File("server.log"));
  // The server is web's process: alive, while its /hang never answers.
  ASSERT_TRUE(WriteFile(dir.File("web.pid"), std::to_string(server.pid())));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  // web: hung; restarted once (the stand-in supervisor changes nothing,
  // and stop_timeout is too long for watchd to kill the process that
  // outlived the restart), then hung for good, the limit only alerting.
  // worker: failing, with a reason that is markup if not escaped. api,
  // db: ok.
  const std::string services =
      "  web:\n"
      "    supervisor: cmd\n"
      "    program: web\n"
      "    pidfile: " +
      dir.File("web.pid") +
      "\n"
      "    start_grace: 500ms\n"
      "    stop_timeout: 1h\n"
      "    restart_limit: {max: 1, within: 1h, then: alert}\n"
      "    checks:\n"
      "      health:\n"
      "        http: {url: \"" +
      base +
      "/hang\"}\n"
      "        interval: 500ms\n"
      "        timeout: 300ms\n"
      "        failures: 2\n"
      "        on_failure: restart\n"
      "      alive:\n"
      "        process: {}\n"
      "        interval: 500ms\n"
      "  worker:\n"
      "    checks:\n"
      "      queue:\n"
      "        exec: [/bin/sh, -c, \"echo 'backlog <jobs> 1520 > 1000 & "
      "rising'; exit 1\"]\n"
      "        interval: 500ms\n"
      "        failures: 1\n"
      "  api:\n"
      "    checks:\n"
      "      health:\n"
      "        http: {url: \"" +
      base +
      "/ok\"}\n"
      "        interval: 500ms\n"
      "  db:\n"
      "    checks:\n"
      "      port:\n"
      "        tcp: {host: 127.0.0.1, port: " +
      std::to_string(port) +
      "}\n"
      "        interval: 500ms\n";
  WatchdProcess watchd(services,
                       "supervisors:\n  cmd:\n    type: command\n"
                       "    restart: [/bin/true]\n    timeout: 10s\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();

  // Hung after its one restart, and so for good: the page cannot catch it
  // between states.
  nlohmann::json web;
  ASSERT_TRUE(WaitFor(
      [&] {
        WatchctlResult r =
            RunWatchctl(watchd.control_socket(), {"status", "--json", "web"});
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (!j.is_object() || !j["services"].is_array() ||
            j["services"].empty()) {
          return false;
        }
        web = j["services"][0];
        return web["state"] == "hung" && web["restarts"]["total"] == 1 &&
               watchd.Log().find("restart limit reached") != std::string::npos;
      },
      kDeadline, milliseconds(200)))
      << web.dump() << "\n"
      << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "worker", "failing")) << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "api", "ok")) << watchd.Log();
  ASSERT_TRUE(WaitForState(watchd, "db", "ok")) << watchd.Log();
  ASSERT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "api"}, {"check", "health"}}, 1,
                                   kDeadline));

  const std::string url =
      "http://127.0.0.1:" + std::to_string(watchd.metrics_port()) + "/";
  const std::string dom_path = dir.File("dom.html");
  ASSERT_TRUE(RunChromium(dir, url, "--dump-dom", dom_path))
      << ReadFile(dir.File("chromium.log"));
  const std::string dom = ReadFile(dom_path);
  ASSERT_NE(dom.find("<h1>watchd <span class=\"host\">on "), std::string::npos)
      << dom;

  const size_t web_at = dom.find(
      "<tr class=\"service tone-bad\" id=\"service-web\" data-state=\"hung\">");
  const size_t worker_at = dom.find(
      "<tr class=\"service tone-bad\" id=\"service-worker\" "
      "data-state=\"failing\">");
  const size_t api_at = dom.find(
      "<tr class=\"service tone-good\" id=\"service-api\" data-state=\"ok\">");
  const size_t db_at = dom.find(
      "<tr class=\"service tone-good\" id=\"service-db\" data-state=\"ok\">");
  ASSERT_NE(web_at, std::string::npos) << dom;
  ASSERT_NE(worker_at, std::string::npos) << dom;
  ASSERT_NE(api_at, std::string::npos) << dom;
  ASSERT_NE(db_at, std::string::npos) << dom;
  // Worst first, then by name.
  EXPECT_LT(web_at, worker_at);
  EXPECT_LT(worker_at, api_at);
  EXPECT_LT(api_at, db_at);
  EXPECT_EQ(dom.find("<tr class=\"service"), web_at) << "hung comes first";

  const std::string web_row = Row(dom, web_at);
  EXPECT_NE(web_row.find("<span class=\"state state-hung\">hung</span>"),
            std::string::npos)
      << web_row;
  EXPECT_NE(web_row.find("check health failing: timeout"), std::string::npos)
      << web_row;
  EXPECT_NE(web_row.find("pid " + std::to_string(server.pid()) + ", up "),
            std::string::npos)
      << web_row;
  EXPECT_EQ(web["pid"], server.pid());
  EXPECT_NE(web_row.find("1 total, 1 within 1h (limit 1)"), std::string::npos)
      << web_row;
  EXPECT_NE(web_row.find("cmd (command), program web"), std::string::npos)
      << web_row;
  EXPECT_NE(web_row.find("<tr class=\"check\" data-check=\"health\" "
                         "data-state=\"failing\">"),
            std::string::npos)
      << web_row;
  EXPECT_NE(web_row.find("<tr class=\"check\" data-check=\"alive\" "
                         "data-state=\"passing\">"),
            std::string::npos)
      << web_row;

  // The check's output is text in the page, never an element.
  const std::string worker_row = Row(dom, worker_at);
  EXPECT_NE(worker_row.find("backlog &lt;jobs&gt; 1520 &gt; 1000 &amp; rising"),
            std::string::npos)
      << worker_row;
  EXPECT_EQ(dom.find("<jobs"), std::string::npos) << dom;

  EXPECT_NE(Row(dom, api_at).find("<span class=\"state state-ok\">ok</span>"),
            std::string::npos);
  EXPECT_NE(dom.find("<a href=\"/metrics\">metrics</a>"), std::string::npos);
  EXPECT_NE(dom.find("4 services: "), std::string::npos);

  // The picture for docs/: the build directory keeps the last one.
  const std::string png_path = BinaryPath("status-page.png");
  ASSERT_TRUE(RunChromium(dir, url,
                          "--hide-scrollbars --window-size=1200,800 "
                          "--screenshot=" +
                              png_path,
                          "/dev/null"))
      << ReadFile(dir.File("chromium.log"));
  std::optional<std::pair<uint32_t, uint32_t>> size =
      PngSize(ReadFile(png_path));
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->first, 1200u);
  EXPECT_EQ(size->second, 800u);
  // What it shows is still so.
  EXPECT_TRUE(server.running());
  EXPECT_TRUE(WaitForState(watchd, "web", "hung"));
}

}  // namespace
}  // namespace watchd::testing
