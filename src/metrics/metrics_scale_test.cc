// Metrics at 10,000 checks (SPEC: the whole daemon under 64 MiB there):
// memory of the handles, cost of a scrape and of removing every check.
// Prints its measurements; asserts only on memory, not on timings.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

constexpr int kServices = 2000;
constexpr int kChecksPerService = 5;

double MiB(long bytes) { return static_cast<double>(bytes) / (1 << 20); }

long ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// VmHWM: the peak resident size since the last ResetPeak().
long PeakBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  }
  return 0;
}

void ResetPeak() { std::ofstream("/proc/self/clear_refs") << "5"; }

// GET /metrics with python3, in full; true on a 200 with watchd series.
bool Scrape(int port, bool gzip) {
  testing::TempDir dir;
  std::string log = dir.File("scrape.log");
  testing::Subprocess python;
  python.Start({"python3", "-c",
                "import gzip, sys, urllib.request\n"
                "req = urllib.request.Request(sys.argv[1])\n"
                "if sys.argv[2] == '1':\n"
                "    req.add_header('Accept-Encoding', 'gzip')\n"
                "resp = urllib.request.urlopen(req, timeout=60)\n"
                "body = resp.read()\n"
                "if resp.headers.get('Content-Encoding') == 'gzip':\n"
                "    body = gzip.decompress(body)\n"
                "sys.exit(0 if b'watchd_check_up{' in body else 1)\n",
                "http://127.0.0.1:" + std::to_string(port) + "/metrics",
                gzip ? "1" : "0"},
               log);
  std::optional<int> status = python.Wait(std::chrono::milliseconds(120000));
  return status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

TEST(MetricsScaleTest, TenThousandChecks) {
  auto created = Metrics::Create("127.0.0.1:0", "0.1.0");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<Metrics> metrics = std::move(created).value();

  long before = ResidentBytes();
  std::vector<Metrics::CheckHandle*> checks;
  std::vector<Metrics::ServiceHandle*> services;
  for (int s = 0; s < kServices; ++s) {
    // Realistic names, longer than std::string's inline buffer.
    std::string service = "service-name-" + std::to_string(s);
    services.push_back(metrics->AddService(service));
    for (int c = 0; c < kChecksPerService; ++c) {
      checks.push_back(metrics->AddCheck(
          service, "check-name-" + std::to_string(c), "http"));
    }
  }
  ProbeDetails details;
  details.http_status = 200;
  for (Metrics::CheckHandle* check : checks) {
    metrics->ObserveProbe(check, ProbeOutcomeLabel::kSuccess, 0.004, details);
    metrics->SetCheckUp(check, true);
  }
  for (Metrics::ServiceHandle* service : services) {
    metrics->SetServiceState(service, "ok");
  }
  long held = ResidentBytes() - before;
  std::cout << "RSS of " << checks.size() << " checks and " << services.size()
            << " services, each observed: " << MiB(held) << " MiB ("
            << held / static_cast<long>(checks.size()) << " bytes/check)\n";

  constexpr int kObservations = 1000000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kObservations; ++i) {
    metrics->ObserveProbe(checks[i % checks.size()],
                          ProbeOutcomeLabel::kFailure, 0.02 * (i % 100),
                          details);
  }
  std::cout << "ObserveProbe: " << SecondsSince(start) * 1e9 / kObservations
            << " ns/call\n";

  long steady = ResidentBytes();
  ResetPeak();
  start = std::chrono::steady_clock::now();
  std::string text = metrics->Serialize();
  double serialize = SecondsSince(start);
  std::cout << "Serialize(): " << serialize * 1000 << " ms, "
            << MiB(static_cast<long>(text.size())) << " MiB of text, peak RSS +"
            << MiB(PeakBytes() - steady) << " MiB\n";
  size_t up_lines = 0;
  for (size_t at = text.find("\nwatchd_check_up{"); at != std::string::npos;
       at = text.find("\nwatchd_check_up{", at + 1)) {
    ++up_lines;
  }
  EXPECT_EQ(up_lines, checks.size());
  text = std::string();

  // Scrapes by another process, so that only the server side is measured;
  // Prometheus asks for gzip.
  for (bool gzip : {false, true}) {
    steady = ResidentBytes();
    ResetPeak();
    start = std::chrono::steady_clock::now();
    ASSERT_TRUE(Scrape(metrics->listening_ports().at(0), gzip));
    std::cout << "HTTP scrape" << (gzip ? " (gzip)" : "") << ": "
              << SecondsSince(start) * 1000 << " ms, peak RSS +"
              << MiB(PeakBytes() - steady) << " MiB, RSS after +"
              << MiB(ResidentBytes() - steady) << " MiB\n";
  }

  start = std::chrono::steady_clock::now();
  for (Metrics::CheckHandle* check : checks) metrics->RemoveCheck(check);
  for (Metrics::ServiceHandle* service : services) {
    metrics->RemoveService(service);
  }
  std::cout << "Removing every check and service: "
            << SecondsSince(start) * 1000 << " ms\n";
  EXPECT_EQ(metrics->Serialize().find("service-name-"), std::string::npos);

#if !defined(__SANITIZE_ADDRESS__)
  // About 4 KiB a check would spend 40 of the daemon's 64 MiB here.
  EXPECT_LT(held, 16L << 20);
#endif
}

}  // namespace
}  // namespace watchd
