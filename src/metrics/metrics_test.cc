#include "metrics/metrics.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/scrape_testing.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

// Every sample of a text exposition: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    samples[line.substr(0, space)] =
        std::strtod(line.c_str() + space + 1, nullptr);
  }
  return samples;
}

std::string Series(const std::string& name, const std::string& service,
                   const std::string& check, const std::string& extra = "") {
  return name + "{service=\"" + service + "\",check=\"" + check + "\"" + extra +
         "}";
}

std::unique_ptr<Metrics> NewMetrics(const std::string& listen = "") {
  Result<std::unique_ptr<Metrics>> metrics = Metrics::Create(listen, "1.2.3");
  EXPECT_TRUE(metrics.ok()) << metrics.status().ToString();
  return metrics.ok() ? std::move(metrics).value() : nullptr;
}

TEST(MetricsTest, NewCheckExportsZeroCountsAndNoDetails) {
  auto metrics = NewMetrics();
  metrics->AddCheck("web", "health", "http");
  auto s = Samples(metrics->Serialize());

  EXPECT_EQ(s.at(Series("watchd_check_up", "web", "health", ",kind=\"http\"")),
            0);
  for (const char* result : {"success", "failure", "timeout", "error"}) {
    EXPECT_EQ(s.at(Series("watchd_probes_total", "web", "health",
                          std::string(",result=\"") + result + "\"")),
              0)
        << result;
  }
  EXPECT_EQ(
      s.at(Series("watchd_probe_duration_seconds_count", "web", "health")), 0);
  EXPECT_EQ(s.at(Series("watchd_probe_duration_seconds_bucket", "web", "health",
                        ",le=\"+Inf\"")),
            0);
  EXPECT_EQ(s.count(Series("watchd_probe_success", "web", "health")), 0u);
  EXPECT_EQ(s.count(Series("watchd_probe_http_status_code", "web", "health")),
            0u);
  EXPECT_EQ(s.at("watchd_build_info{version=\"1.2.3\"}"), 1);
  EXPECT_EQ(s.at("watchd_config_last_reload_successful"), 0);
}

TEST(MetricsTest, ProbeObservationsReachTheirSeries) {
  auto metrics = NewMetrics();
  Metrics::CheckHandle* http = metrics->AddCheck("web", "health", "http");
  Metrics::CheckHandle* dns = metrics->AddCheck("api", "dns", "dns");

  ProbeDetails ok;
  ok.http_status = 200;
  ok.ssl_earliest_cert_expiry = 1900000000;
  metrics->ObserveProbe(http, ProbeOutcomeLabel::kSuccess, 0.003, ok);
  ProbeDetails bad;
  bad.http_status = 503;
  metrics->ObserveProbe(http, ProbeOutcomeLabel::kFailure, 0.2, bad);
  metrics->ObserveProbe(http, ProbeOutcomeLabel::kTimeout, 2.0, {});
  metrics->SetCheckUp(http, true);
  ProbeDetails lookup;
  lookup.dns_lookup_seconds = 0.0125;
  metrics->ObserveProbe(dns, ProbeOutcomeLabel::kSuccess, 0.02, lookup);

  auto s = Samples(metrics->Serialize());
  auto web = [](const std::string& name, const std::string& extra = "") {
    return Series(name, "web", "health", extra);
  };
  EXPECT_EQ(s.at(web("watchd_check_up", ",kind=\"http\"")), 1);
  EXPECT_EQ(s.at(web("watchd_probes_total", ",result=\"success\"")), 1);
  EXPECT_EQ(s.at(web("watchd_probes_total", ",result=\"failure\"")), 1);
  EXPECT_EQ(s.at(web("watchd_probes_total", ",result=\"timeout\"")), 1);
  EXPECT_EQ(s.at(web("watchd_probes_total", ",result=\"error\"")), 0);
  EXPECT_EQ(s.at(web("watchd_probe_success")), 0);  // the timeout came last
  EXPECT_EQ(s.at(web("watchd_probe_duration_seconds_count")), 3);
  EXPECT_DOUBLE_EQ(s.at(web("watchd_probe_duration_seconds_sum")), 2.203);
  EXPECT_EQ(s.at(web("watchd_probe_duration_seconds_bucket", ",le=\"0.001\"")),
            0);
  EXPECT_EQ(s.at(web("watchd_probe_duration_seconds_bucket", ",le=\"0.005\"")),
            1);
  // Buckets are upper-inclusive: 0.2 is below 0.25, 2.0 below 2.5.
  EXPECT_EQ(s.at(web("watchd_probe_duration_seconds_bucket", ",le=\"0.25\"")),
            2);
  EXPECT_EQ(s.at(web("watchd_probe_duration_seconds_bucket", ",le=\"2.5\"")),
            3);
  EXPECT_EQ(s.at(web("watchd_probe_duration_seconds_bucket", ",le=\"+Inf\"")),
            3);
  EXPECT_EQ(s.at(web("watchd_probe_http_status_code")), 503);
  EXPECT_EQ(
      s.at(web("watchd_probe_ssl_earliest_cert_expiry_timestamp_seconds")),
      1900000000);
  EXPECT_EQ(s.count(web("watchd_probe_dns_lookup_time_seconds")), 0u);

  EXPECT_EQ(s.at(Series("watchd_probe_success", "api", "dns")), 1);
  EXPECT_DOUBLE_EQ(
      s.at(Series("watchd_probe_dns_lookup_time_seconds", "api", "dns")),
      0.0125);
  EXPECT_EQ(s.count(Series("watchd_probe_http_status_code", "api", "dns")), 0u);
  EXPECT_EQ(s.at(Series("watchd_check_up", "api", "dns", ",kind=\"dns\"")), 0);
}

TEST(MetricsTest, RemovingACheckRemovesAllItsSeries) {
  auto metrics = NewMetrics();
  Metrics::CheckHandle* gone = metrics->AddCheck("web", "gone", "http");
  Metrics::CheckHandle* kept = metrics->AddCheck("web", "kept", "tcp");
  ProbeDetails details;
  details.http_status = 200;
  details.dns_lookup_seconds = 0.001;
  details.ssl_earliest_cert_expiry = 1900000000;
  metrics->ObserveProbe(gone, ProbeOutcomeLabel::kSuccess, 0.01, details);
  metrics->ObserveProbe(kept, ProbeOutcomeLabel::kError, 0.01, {});

  metrics->RemoveCheck(gone);
  std::string text = metrics->Serialize();

  EXPECT_EQ(text.find("check=\"gone\""), std::string::npos) << text;
  auto s = Samples(text);
  EXPECT_EQ(
      s.at(Series("watchd_probes_total", "web", "kept", ",result=\"error\"")),
      1);
  // Families left without series are not written at all.
  EXPECT_EQ(text.find("watchd_probe_http_status_code"), std::string::npos);
}

TEST(MetricsTest, ReAddedCheckSharesSeriesUntilLastRemove) {
  auto metrics = NewMetrics();
  Metrics::CheckHandle* old_check = metrics->AddCheck("web", "probe", "tcp");
  metrics->ObserveProbe(old_check, ProbeOutcomeLabel::kSuccess, 0.01, {});
  // A reload creates the successor first, with another kind.
  Metrics::CheckHandle* new_check = metrics->AddCheck("web", "probe", "http");
  EXPECT_EQ(new_check, old_check);
  metrics->RemoveCheck(old_check);

  auto s = Samples(metrics->Serialize());
  EXPECT_EQ(s.at(Series("watchd_check_up", "web", "probe", ",kind=\"http\"")),
            0);
  EXPECT_EQ(s.count(Series("watchd_check_up", "web", "probe", ",kind=\"tcp\"")),
            0u);
  EXPECT_EQ(s.at(Series("watchd_probes_total", "web", "probe",
                        ",result=\"success\"")),
            1);

  metrics->RemoveCheck(new_check);
  EXPECT_EQ(metrics->Serialize().find("check=\"probe\""), std::string::npos);
}

TEST(MetricsTest, ServiceStateIsOneHot) {
  auto metrics = NewMetrics();
  Metrics::ServiceHandle* web = metrics->AddService("web");
  auto state = [&](const std::string& name) {
    return Samples(metrics->Serialize())
        .at("watchd_service_state{service=\"web\",state=\"" + name + "\"}");
  };
  const char* kStates[] = {"ok",          "failing",    "hung",
                           "dead",        "restarting", "starting",
                           "unmonitored", "blocked",    "unknown"};
  for (const char* s : kStates) EXPECT_EQ(state(s), 0) << s;

  for (const char* current : kStates) {
    ASSERT_TRUE(metrics->SetServiceState(web, current));
    for (const char* s : kStates) {
      EXPECT_EQ(state(s), std::string(s) == current ? 1 : 0)
          << current << " " << s;
    }
  }
  EXPECT_FALSE(metrics->SetServiceState(web, "sleeping"));
  EXPECT_EQ(state("unknown"), 1);
  EXPECT_EQ(metrics->Serialize().find("sleeping"), std::string::npos);
}

TEST(MetricsTest, ServiceCountersAndMemory) {
  auto metrics = NewMetrics();
  Metrics::ServiceHandle* web = metrics->AddService("web");
  Metrics::ServiceHandle* db = metrics->AddService("db");
  auto s = Samples(metrics->Serialize());
  EXPECT_EQ(s.at("watchd_restart_failures_total{service=\"web\"}"), 0);
  EXPECT_EQ(s.count("watchd_process_resident_memory_bytes{service=\"web\"}"),
            0u);
  EXPECT_EQ(metrics->Serialize().find("watchd_restarts_total"),
            std::string::npos);

  metrics->IncRestart(web, "check:health");
  metrics->IncRestart(web, "check:health");
  metrics->IncRestart(web, "manual");
  metrics->IncRestartFailure(web);
  metrics->SetResidentMemory(web, 123456789);
  s = Samples(metrics->Serialize());
  EXPECT_EQ(s.at("watchd_restarts_total{service=\"web\",reason=\"check:"
                 "health\"}"),
            2);
  EXPECT_EQ(s.at("watchd_restarts_total{service=\"web\",reason=\"manual\"}"),
            1);
  EXPECT_EQ(s.at("watchd_restart_failures_total{service=\"web\"}"), 1);
  EXPECT_EQ(s.at("watchd_restart_failures_total{service=\"db\"}"), 0);
  EXPECT_EQ(s.at("watchd_process_resident_memory_bytes{service=\"web\"}"),
            123456789);

  metrics->RemoveService(web);
  std::string text = metrics->Serialize();
  EXPECT_EQ(text.find("service=\"web\""), std::string::npos) << text;
  EXPECT_NE(text.find("service=\"db\""), std::string::npos);
  metrics->RemoveService(db);
}

TEST(MetricsTest, ConfigReloadAndLateness) {
  auto metrics = NewMetrics();
  EXPECT_EQ(metrics->Serialize().find(
                "watchd_config_last_reload_success_timestamp_seconds "),
            std::string::npos);

  double before = static_cast<double>(std::time(nullptr));
  metrics->SetConfigReloadSuccessful(true);
  auto s = Samples(metrics->Serialize());
  EXPECT_EQ(s.at("watchd_config_last_reload_successful"), 1);
  double stamp = s.at("watchd_config_last_reload_success_timestamp_seconds");
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, static_cast<double>(std::time(nullptr)) + 1);

  metrics->SetConfigReloadSuccessful(false);
  s = Samples(metrics->Serialize());
  EXPECT_EQ(s.at("watchd_config_last_reload_successful"), 0);
  EXPECT_EQ(s.at("watchd_config_last_reload_success_timestamp_seconds"), stamp);

  metrics->ObserveLateness(0.0003);
  metrics->ObserveLateness(0.03);
  s = Samples(metrics->Serialize());
  EXPECT_EQ(s.at("watchd_scheduler_lateness_seconds_count"), 2);
  EXPECT_EQ(s.at("watchd_scheduler_lateness_seconds_bucket{le=\"0.0005\"}"), 1);
  EXPECT_EQ(s.at("watchd_scheduler_lateness_seconds_bucket{le=\"0.05\"}"), 2);
}

// Runs `promtool check metrics` on `text`: its exit status and output.
std::pair<int, std::string> Promtool(const std::string& text) {
  testing::TempDir dir;
  std::string path = dir.File("metrics.txt");
  EXPECT_TRUE(testing::WriteFile(path, text));
  FILE* pipe =
      popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) output.append(buf, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A populated Metrics: every family has series.
void Populate(Metrics& metrics) {
  Metrics::CheckHandle* check = metrics.AddCheck("web", "health", "http");
  ProbeDetails details;
  details.http_status = 200;
  details.dns_lookup_seconds = 0.002;
  details.ssl_earliest_cert_expiry = 1900000000;
  metrics.ObserveProbe(check, ProbeOutcomeLabel::kSuccess, 0.004, details);
  metrics.SetCheckUp(check, true);
  Metrics::ServiceHandle* service = metrics.AddService("web");
  metrics.SetServiceState(service, "ok");
  metrics.IncRestart(service, "check:health");
  metrics.IncRestartFailure(service);
  metrics.SetResidentMemory(service, 1 << 20);
  metrics.ObserveLateness(0.001);
  metrics.SetConfigReloadSuccessful(true);
}

TEST(MetricsTest, ScrapeOverHttpPassesPromtool) {
  if (access("/usr/bin/promtool", X_OK) != 0) {
    GTEST_SKIP() << "promtool (Debian package prometheus) is not installed";
  }
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  Populate(*metrics);
  std::vector<int> ports = metrics->listening_ports();
  ASSERT_EQ(ports.size(), 1u);
  ASSERT_GT(ports[0], 0);

  int status = 0;
  std::optional<std::string> body =
      testing::HttpGet(ports[0], "/metrics", &status);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(status, 200);
  EXPECT_EQ(*body, metrics->Serialize());
  for (const char* name :
       {"watchd_check_up", "watchd_probe_success",
        "watchd_probe_duration_seconds", "watchd_probes_total",
        "watchd_probe_http_status_code", "watchd_probe_dns_lookup_time_seconds",
        "watchd_probe_ssl_earliest_cert_expiry_timestamp_seconds",
        "watchd_service_state", "watchd_restarts_total",
        "watchd_restart_failures_total", "watchd_process_resident_memory_bytes",
        "watchd_scheduler_lateness_seconds",
        "watchd_config_last_reload_successful",
        "watchd_config_last_reload_success_timestamp_seconds",
        "watchd_build_info"}) {
    EXPECT_NE(body->find(std::string("# HELP ") + name + " "),
              std::string::npos)
        << name;
    EXPECT_NE(body->find(std::string("\n") + name), std::string::npos) << name;
  }
  auto [exit_code, output] = Promtool(*body);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_EQ(output, "");
}

// Scrapes over HTTP while the event loop's side adds, observes and removes
// checks and services: every scrape is whole, and the series present
// throughout (more than one chunk of them) are in each exactly once.
TEST(MetricsTest, ScrapesRaceAddsObservationsAndRemoves) {
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  int port = metrics->listening_ports().at(0);
  constexpr int kKept = 1500;
  std::vector<Metrics::CheckHandle*> kept;
  for (int i = 0; i < kKept; ++i) {
    kept.push_back(metrics->AddCheck("kept", "c" + std::to_string(i), "tcp"));
  }
  constexpr int kScrapes = 20;
  std::atomic<int> scrapes{0};
  std::atomic<int> failures{0};
  std::mutex why_mu;
  std::string why;  // of the first failure
  auto scrape = [&] {
    for (int i = 0; i < kScrapes / 2; ++i) {
      auto r = testing::Get(port, "/metrics");
      size_t kept_up = 0;
      if (r) {
        for (size_t at = r->body.find("\nwatchd_check_up{service=\"kept\"");
             at != std::string::npos;
             at = r->body.find("\nwatchd_check_up{service=\"kept\"", at + 1)) {
          ++kept_up;
        }
      }
      std::string bad =
          !r                 ? "no response"
          : r->status != 200 ? "status " + std::to_string(r->status)
          : kept_up != kKept ? "kept series " + std::to_string(kept_up)
          : r->body.find("\nwatchd_process_resident_memory_bytes") ==
                  std::string::npos
              ? "no resident memory series"
              : "";
      if (!bad.empty()) {
        failures++;
        std::lock_guard<std::mutex> lock(why_mu);
        if (why.empty()) why = bad;
      }
      scrapes++;
    }
  };
  // Before the first scrape, which must already see it.
  Metrics::ServiceHandle* steady = metrics->AddService("steady");
  metrics->SetResidentMemory(steady, 1000);
  std::thread scrapers[] = {std::thread(scrape), std::thread(scrape)};
  // Churn until the scrapers are done, bounded in count.
  ProbeDetails details;
  details.http_status = 200;
  for (int round = 0; scrapes < kScrapes && round < 1000000; ++round) {
    std::string service = "svc" + std::to_string(round % 7);
    Metrics::CheckHandle* check = metrics->AddCheck(service, "c", "tcp");
    Metrics::ServiceHandle* s = metrics->AddService(service);
    metrics->ObserveProbe(check, ProbeOutcomeLabel::kFailure, 0.1, details);
    metrics->ObserveProbe(kept[round % kKept], ProbeOutcomeLabel::kSuccess,
                          0.01, details);
    metrics->SetResidentMemory(s, 1 << 20);
    metrics->IncRestart(s, "r" + std::to_string(round % 3));
    metrics->RemoveCheck(check);
    metrics->RemoveService(s);
  }
  for (std::thread& t : scrapers) t.join();
  EXPECT_EQ(failures, 0) << why;
  metrics->RemoveService(steady);
  for (Metrics::CheckHandle* check : kept) metrics->RemoveCheck(check);
}

TEST(MetricsTest, BadListenAddressesAreRefused) {
  for (const char* listen :
       {"bogus", "9109", ":9109", "999.1.1.1:9109", "example.org:9109",
        "127.0.0.1:70000", "127.0.0.1:", "127.0.0.1:9x", "::1:9109",
        "127.0.0.1:9109,127.0.0.1:9110"}) {
    Result<std::unique_ptr<Metrics>> metrics = Metrics::Create(listen, "v");
    ASSERT_FALSE(metrics.ok()) << listen;
    EXPECT_NE(metrics.status().message().find(listen), std::string::npos)
        << metrics.status().message();
  }
}

TEST(MetricsTest, PortInUseIsAnError) {
  auto first = NewMetrics("127.0.0.1:0");
  ASSERT_NE(first, nullptr);
  std::string listen =
      "127.0.0.1:" + std::to_string(first->listening_ports().at(0));
  Result<std::unique_ptr<Metrics>> second = Metrics::Create(listen, "v");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "metrics: cannot listen on " + listen + ": Address already in use");
}

TEST(MetricsTest, LocalhostBindsLoopback) {
  auto metrics = NewMetrics("localhost:0");
  ASSERT_NE(metrics, nullptr);
  int port = metrics->listening_ports().at(0);
  int status = 0;
  EXPECT_TRUE(testing::HttpGet(port, "/metrics", &status).has_value());
  EXPECT_EQ(status, 200);
}

TEST(MetricsTest, Ipv6Serves) {
  auto metrics = NewMetrics("[::1]:0");
  ASSERT_NE(metrics, nullptr);
  Populate(*metrics);
  ASSERT_EQ(metrics->listening_ports().size(), 1u);
  auto r = testing::Get(metrics->listening_ports()[0], "/metrics", "::1");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, metrics->Serialize());
}

TEST(MetricsTest, HeadAndOtherPaths) {
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  int port = metrics->listening_ports().at(0);
  auto r = testing::Exchange(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  r = testing::Get(port, "/");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("/metrics"), std::string::npos);
  r = testing::Get(port, "/favicon.ico");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  r = testing::Exchange(port, "DELETE /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 405);
}

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

// A strict reader of sample lines, undoing the escapes of label values.
std::vector<ParsedSample> ParseSamples(const std::string& text) {
  std::vector<ParsedSample> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    ParsedSample s;
    size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (line[i] != '}') {
        size_t eq = line.find("=\"", i);
        std::string key = line.substr(i, eq - i);
        std::string value;
        for (i = eq + 2; line[i] != '"'; ++i) {
          if (line[i] == '\\') {
            ++i;
            value += line[i] == 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
        }
        s.labels[key] = value;
        ++i;
        if (line[i] == ',') ++i;
      }
      ++i;
    }
    s.value = line.substr(i + 1);
    samples.push_back(std::move(s));
  }
  return samples;
}

TEST(MetricsTest, OddNamesAreEscapedAndReadBack) {
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  const std::string service = "we\"b\\x\ny \\n";
  const std::string check = "c\\\"\n";
  const std::string reason = "check:\"quoted\"";
  Metrics::CheckHandle* c = metrics->AddCheck(service, check, "http");
  metrics->ObserveProbe(c, ProbeOutcomeLabel::kSuccess, 0.01, {});
  Metrics::ServiceHandle* s = metrics->AddService(service);
  metrics->IncRestart(s, reason);

  auto r = testing::Get(metrics->listening_ports().at(0), "/metrics");
  ASSERT_TRUE(r.has_value());
  int found = 0;
  for (const ParsedSample& sample : ParseSamples(r->body)) {
    auto it = sample.labels.find("service");
    if (it == sample.labels.end()) continue;
    EXPECT_EQ(it->second, service) << sample.name;
    if (sample.labels.count("check")) {
      EXPECT_EQ(sample.labels.at("check"), check);
    }
    if (sample.name == "watchd_restarts_total") {
      EXPECT_EQ(sample.labels.at("reason"), reason);
      EXPECT_EQ(sample.value, "1");
    }
    ++found;
  }
  // check_up, success, 16 duration, 4 probes; 9 states, a restart, failures.
  EXPECT_EQ(found, 1 + 1 + 16 + 4 + 9 + 1 + 1);

  if (access("/usr/bin/promtool", X_OK) == 0) {
    auto [exit_code, output] = Promtool(r->body);
    EXPECT_EQ(exit_code, 0) << output;
    EXPECT_EQ(output, "");
  }
}

TEST(MetricsTest, SerializeIsWhatIsServed) {
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  Populate(*metrics);
  auto r = testing::Get(metrics->listening_ports().at(0), "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, metrics->Serialize());
  // The process families first, in a fixed order.
  EXPECT_EQ(r->body.rfind("# HELP watchd_build_info ", 0), 0u) << r->body;
  EXPECT_LT(r->body.find("watchd_scheduler_lateness_seconds"),
            r->body.find("watchd_check_up"));
}

// A client that connects and says nothing does not keep others waiting.
TEST(MetricsTest, SilentClientDoesNotBlockScrapes) {
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  int port = metrics->listening_ports().at(0);
  int silent = testing::ConnectTo("127.0.0.1", port, std::chrono::seconds(30));
  ASSERT_GE(silent, 0);
  ASSERT_TRUE(::watchd::testing::WaitFor(
      [&] { return testing::AcceptQueueLength(port) == 0; },
      std::chrono::seconds(30)));
  auto r = testing::Get(port, "/metrics");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  close(silent);
}

TEST(MetricsTest, ShutdownWithAConnectedClientIsPrompt) {
  auto metrics = NewMetrics("127.0.0.1:0");
  ASSERT_NE(metrics, nullptr);
  int port = metrics->listening_ports().at(0);
  int silent = testing::ConnectTo("127.0.0.1", port, std::chrono::seconds(30));
  ASSERT_GE(silent, 0);
  ASSERT_TRUE(::watchd::testing::WaitFor(
      [&] { return testing::AcceptQueueLength(port) == 0; },
      std::chrono::seconds(30)));
  auto start = std::chrono::steady_clock::now();
  metrics.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Closed, and nothing listens any more.
  EXPECT_EQ(testing::ReadToEnd(silent), "");
  close(silent);
  EXPECT_FALSE(testing::Get(port, "/metrics").has_value());
}

}  // namespace
}  // namespace watchd
