// End to end: the real watchd binary probing real servers on 127.0.0.1,
// asserting each check's verdict, reason (from the transition log) and
// metrics (from a real scrape of /metrics).
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Labels = std::map<std::string, std::string>;

constexpr auto kVerdictTimeout = seconds(30);

// A check run every `timeout` (at least 250ms), failing after two misses.
std::string HttpCheck(const std::string& name, const std::string& url,
                      const std::string& timeout = "250ms",
                      const std::string& extra = "") {
  return "      " + name + ":\n        http: {url: \"" + url + "\"" + extra +
         "}\n        interval: " + timeout + "\n        timeout: " + timeout +
         "\n        failures: 2\n";
}

TEST(ProbesEndToEnd, HttpVerdictsReasonsAndMetrics) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  HttpServer no_accept({"--no-accept"});
  ASSERT_TRUE(no_accept.WaitReady());
  const int closed_port = FreePort();

  std::string services =
      "  web:\n    checks:\n" + HttpCheck("healthy", server.Url("/ok")) +
      HttpCheck("unavailable", server.Url("/status/503")) +
      HttpCheck("body", server.Url("/body/hello"), "250ms",
                ", expect_body: \"^bye\"") +
      HttpCheck("hung", server.Url("/hang"), "500ms") +
      HttpCheck("slow", server.Url("/slow/300"), "2s") +
      HttpCheck("refused",
                "http://127.0.0.1:" + std::to_string(closed_port) + "/") +
      HttpCheck("noaccept", no_accept.Url("/ok"), "500ms");
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();

  auto up = [&](const std::string& check, double value) {
    return watchd.WaitForMetric(
        "watchd_check_up",
        {{"service", "web"}, {"check", check}, {"kind", "http"}}, value,
        kVerdictTimeout);
  };
  EXPECT_TRUE(up("healthy", 1)) << watchd.Log();
  EXPECT_TRUE(up("slow", 1)) << watchd.Log();
  for (const char* failing :
       {"unavailable", "body", "hung", "refused", "noaccept"}) {
    EXPECT_TRUE(up(failing, 0)) << failing;
  }
  // Reasons, from the transition log lines.
  EXPECT_TRUE(
      watchd.WaitForLog("web/unavailable (http): pending -> failing: "
                        "status 503",
                        kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(
      watchd.WaitForLog("web/body (http): pending -> failing: body "
                        "did not match",
                        kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "web/hung (http): pending -> failing: timeout after 500ms",
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "web/refused (http): pending -> failing: connection refused",
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "web/noaccept (http): pending -> failing: timeout after 500ms",
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog("web/healthy (http): pending -> passing",
                                kVerdictTimeout));

  auto m = watchd.Scrape();
  auto val = [&](const std::string& name, const Labels& labels) {
    return FindMetric(m, name, labels).value_or(-1);
  };
  EXPECT_EQ(val("watchd_probe_http_status_code",
                {{"service", "web"}, {"check", "healthy"}}),
            200);
  EXPECT_EQ(val("watchd_probe_http_status_code",
                {{"service", "web"}, {"check", "unavailable"}}),
            503);
  EXPECT_EQ(
      val("watchd_probe_success", {{"service", "web"}, {"check", "healthy"}}),
      1);
  EXPECT_EQ(val("watchd_probe_success",
                {{"service", "web"}, {"check", "unavailable"}}),
            0);
  EXPECT_GE(val("watchd_probes_total",
                {{"service", "web"}, {"check", "hung"}, {"result", "timeout"}}),
            2);
  EXPECT_GE(
      val("watchd_probes_total",
          {{"service", "web"}, {"check", "refused"}, {"result", "failure"}}),
      2);
  EXPECT_EQ(
      val("watchd_probes_total",
          {{"service", "web"}, {"check", "healthy"}, {"result", "failure"}}),
      0);
  // The slow server answers after 300 ms: its mean duration shows it.
  double sum = val("watchd_probe_duration_seconds_sum",
                   {{"service", "web"}, {"check", "slow"}});
  double count = val("watchd_probe_duration_seconds_count",
                     {{"service", "web"}, {"check", "slow"}});
  ASSERT_GT(count, 0);
  EXPECT_GE(sum / count, 0.29);
  EXPECT_EQ(val("watchd_build_info", {}), 1);
}

TEST(ProbesEndToEnd, HttpsReportsCertificateExpiry) {
  TempDir dir;
  const std::string cert = dir.File("cert.pem"), key = dir.File("key.pem");
  Subprocess openssl;
  ASSERT_TRUE(openssl.Start(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
       "30", "-subj", "/CN=localhost", "-keyout", key, "-out", cert},
      dir.File("openssl.log")));
  auto st = openssl.Wait(seconds(60));
  ASSERT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0);
  HttpServer server({"--tls-cert", cert, "--tls-key", key});
  ASSERT_TRUE(server.WaitReady());

  std::string services =
      "  tls:\n    checks:\n" +
      HttpCheck("insecure", server.Url("/ok", "https"), "2s",
                ", tls_verify: false") +
      HttpCheck("verified", server.Url("/ok", "https", "localhost"), "2s",
                ", ca_file: \"" + cert + "\"") +
      HttpCheck("untrusted", server.Url("/ok", "https"), "2s");
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();

  Labels insecure = {{"service", "tls"}, {"check", "insecure"}};
  EXPECT_TRUE(watchd.WaitForMetric(
      "watchd_check_up",
      {{"service", "tls"}, {"check", "insecure"}, {"kind", "http"}}, 1,
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForMetric(
      "watchd_check_up",
      {{"service", "tls"}, {"check", "verified"}, {"kind", "http"}}, 1,
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog("tls/untrusted (http): pending -> failing",
                                kVerdictTimeout))
      << watchd.Log();
  auto expiry = FindMetric(
      watchd.Scrape(),
      "watchd_probe_ssl_earliest_cert_expiry_timestamp_seconds", insecure);
  ASSERT_TRUE(expiry.has_value());
  double expected = static_cast<double>(time(nullptr)) + 30 * 86400.0;
  EXPECT_NEAR(*expiry, expected, 86400.0);
}

TEST(ProbesEndToEnd, TcpAndExecChecks) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  const int closed_port = FreePort();
  std::string services =
      "  box:\n    checks:\n"
      "      port:\n        tcp: {host: 127.0.0.1, port: " +
      std::to_string(server.port()) +
      "}\n        interval: 250ms\n"
      "      banner:\n        tcp: {host: 127.0.0.1, port: " +
      std::to_string(server.port()) +
      ", send: \"GET /ok HTTP/1.0\\r\\n\\r\\n\", expect: \"^HTTP/1\\\\.[01] "
      "200\"}\n        interval: 250ms\n"
      "      closed:\n        tcp: {host: 127.0.0.1, port: " +
      std::to_string(closed_port) +
      "}\n        interval: 250ms\n        failures: 1\n"
      "      script-ok:\n        exec: [/bin/true]\n        interval: 250ms\n"
      "      script-bad:\n        exec: [/bin/sh, -c, \"echo disk full; exit "
      "3\"]\n        interval: 250ms\n        failures: 1\n";
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "box"}, {"check", "port"}}, 1,
                                   kVerdictTimeout));
  EXPECT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "box"}, {"check", "banner"}}, 1,
                                   kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "box"}, {"check", "script-ok"}},
                                   1, kVerdictTimeout));
  EXPECT_TRUE(watchd.WaitForLog(
      "box/closed (tcp): pending -> failing: connection refused",
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "box/script-bad (exec): pending -> failing: exit 3: disk full",
      kVerdictTimeout))
      << watchd.Log();
}

TEST(ProbesEndToEnd, DnsChecksAgainstARealServer) {
  const int port = FreePort(/*udp=*/true);
  const int silent_port = FreePort(/*udp=*/true);
  TempDir dir;
  Subprocess dns, silent;
  ASSERT_TRUE(dns.Start({"python3", SourcePath("tests/servers/dns_server.py"),
                         "--host", "127.0.0.1", "--port", std::to_string(port),
                         "--log-file", dir.File("dns.queries")},
                        dir.File("dns.log")));
  ASSERT_TRUE(silent.Start(
      {"python3", SourcePath("tests/servers/dns_server.py"), "--host",
       "127.0.0.1", "--port", std::to_string(silent_port), "--mode", "silent",
       "--log-file", dir.File("silent.queries")},
      dir.File("silent.log")));
  // Each server creates its query log once its socket is bound.
  ASSERT_TRUE(WaitFor(
      [&] {
        return access(dir.File("dns.queries").c_str(), F_OK) == 0 &&
               access(dir.File("silent.queries").c_str(), F_OK) == 0;
      },
      seconds(20)));
  const std::string server = "127.0.0.1:" + std::to_string(port);
  std::string services =
      "  names:\n    checks:\n"
      "      known:\n        dns: {name: svc.test, type: A, server: \"" +
      server + "\", expect: [127.0.0.2]}\n        interval: 250ms\n" +
      "      missing:\n        dns: {name: nothing.test, server: \"" + server +
      "\"}\n        interval: 250ms\n        failures: 1\n" +
      "      silent:\n        dns: {name: svc.test, server: \"127.0.0.1:" +
      std::to_string(silent_port) +
      "\"}\n        interval: 500ms\n        timeout: 300ms\n"
      "        failures: 1\n";
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  EXPECT_TRUE(watchd.WaitForMetric(
      "watchd_check_up",
      {{"service", "names"}, {"check", "known"}, {"kind", "dns"}}, 1,
      kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "names/missing (dns): pending -> failing: NXDOMAIN", kVerdictTimeout))
      << watchd.Log();
  EXPECT_TRUE(watchd.WaitForLog(
      "names/silent (dns): pending -> failing: timeout after 300ms",
      kVerdictTimeout))
      << watchd.Log();
  auto lookup =
      FindMetric(watchd.Scrape(), "watchd_probe_dns_lookup_time_seconds",
                 {{"service", "names"}, {"check", "known"}});
  ASSERT_TRUE(lookup.has_value());
  EXPECT_GT(*lookup, 0);
  EXPECT_LT(*lookup, 1);
}

TEST(ProbesEndToEnd, PromtoolAcceptsTheScrape) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  std::string services = "  web:\n    checks:\n" +
                         HttpCheck("healthy", server.Url("/ok")) +
                         HttpCheck("bad", server.Url("/status/500"));
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.WaitForMetric("watchd_check_up",
                                   {{"service", "web"}, {"check", "healthy"}},
                                   1, kVerdictTimeout));
  TempDir dir;
  const std::string scraped = dir.File("metrics.txt");
  ASSERT_TRUE(WriteFile(scraped, watchd.ScrapeText()));
  Subprocess promtool;
  const std::string out = dir.File("promtool.out");
  ASSERT_TRUE(promtool.Start(
      {"sh", "-c", "promtool check metrics < \"$0\"", scraped}, out));
  auto st = promtool.Wait(seconds(60));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << ReadFile(out);
  EXPECT_EQ(ReadFile(out), "") << "promtool lint findings";
}

// The core promise: hung endpoints never delay anyone else's probes.
TEST(ProbesEndToEnd, HealthyCheckStaysOnScheduleBesideTwentyHungOnes) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  std::string services =
      "  fast:\n    checks:\n"
      "      healthy:\n        http: {url: \"" +
      server.Url("/ok") +
      "\"}\n        interval: 100ms\n        timeout: 100ms\n"
      "        jitter: 0%\n"
      "  stuck:\n    checks:\n";
  for (int i = 0; i < 20; ++i) {
    services += "      hung" + std::to_string(i) + ":\n        http: {url: \"" +
                server.Url("/hang") +
                "\"}\n        interval: 2s\n        timeout: 2s\n";
  }
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  const Labels healthy = {{"service", "fast"}, {"check", "healthy"}};
  // Wait until every hung check has timed out at least twice.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto m = watchd.Scrape();
        double timeouts = 0;
        for (const auto& s : m) {
          if (s.name == "watchd_probes_total" &&
              s.labels.at("service") == "stuck" &&
              s.labels.at("result") == "timeout") {
            timeouts += s.value;
          }
        }
        return timeouts >= 40;
      },
      seconds(60), milliseconds(200)))
      << watchd.Log();
  auto m = watchd.Scrape();
  auto p99 = HistogramQuantile(m, "watchd_scheduler_lateness_seconds", 0.99);
  ASSERT_TRUE(p99.has_value());
  EXPECT_LE(*p99, 0.05);
  // Every healthy probe succeeded and none was skipped: over the >= 4 s the
  // hung checks took, the 100 ms check ran at least 30 times.
  EXPECT_GE(
      FindMetric(
          m, "watchd_probes_total",
          {{"service", "fast"}, {"check", "healthy"}, {"result", "success"}})
          .value_or(0),
      30);
  // A loaded machine may delay the python server itself past 100 ms now and
  // then; watchd's own scheduling is what the lateness bound above checks.
  EXPECT_LE(
      FindMetric(
          m, "watchd_probes_total",
          {{"service", "fast"}, {"check", "healthy"}, {"result", "timeout"}})
          .value_or(-1),
      3);
}

}  // namespace
}  // namespace watchd::testing
