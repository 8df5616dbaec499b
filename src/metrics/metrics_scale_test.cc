// Metrics at 10,000 checks (SPEC: the whole daemon under 64 MiB there):
// memory of the handles, time and memory of a scrape (Serialize() builds
// the whole text, for tests; /metrics streams it), and the cost of
// removing every check.
// Prints its measurements; asserts only on memory, not on timings.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "metrics/metrics.h"
#include "metrics/scrape_testing.h"

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

// False where the kernel cannot reset the peak: VmHWM is then the peak
// since the start.
bool ResetPeak() {
  std::ofstream("/proc/self/clear_refs") << "5";
  return PeakBytes() <= ResidentBytes() + (1L << 20);
}

// GET /metrics, counting the body without keeping it (so that only the
// server's memory shows in this process): its size, or -1 on failure.
long ScrapeBytes(int port) {
  int fd = testing::ConnectTo("127.0.0.1", port, std::chrono::seconds(60));
  if (fd < 0) return -1;
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  long bytes = -1;
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
      static_cast<ssize_t>(request.size())) {
    char buf[65536];
    bytes = 0;
    bool ok = false;
    for (;;) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        if (n < 0) bytes = -1;
        break;
      }
      if (bytes == 0) ok = std::string_view(buf, n).starts_with("HTTP/1.1 200");
      bytes += n;
    }
    if (!ok) bytes = -1;
  }
  close(fd);
  return bytes;
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

  // Real scrapes over HTTP: their memory is the server's fixed buffers,
  // whatever the number of series.
  int port = metrics->listening_ports().at(0);
  long steady = 0;
  double worst_peak = 0;
  bool peaks_reset = true;
  for (int round = 0; round < 3; ++round) {
    steady = ResidentBytes();
    peaks_reset = ResetPeak() && peaks_reset;
    start = std::chrono::steady_clock::now();
    long bytes = ScrapeBytes(port);
    double seconds = SecondsSince(start);
    ASSERT_GT(bytes, 10L << 20);
    double peak = MiB(PeakBytes() - steady);
    worst_peak = std::max(worst_peak, peak);
    std::cout << "HTTP scrape: " << seconds * 1000 << " ms, " << MiB(bytes)
              << " MiB, peak RSS +" << peak << " MiB, RSS after +"
              << MiB(ResidentBytes() - steady) << " MiB (process peak "
              << MiB(PeakBytes()) << " MiB)\n";
  }
  {
    steady = ResidentBytes();
    ResetPeak();
    start = std::chrono::steady_clock::now();
    std::atomic<int> done{0};
    std::vector<std::thread> scrapers;
    for (int i = 0; i < 4; ++i) {
      scrapers.emplace_back([&] { done += ScrapeBytes(port) > (10L << 20); });
    }
    for (std::thread& t : scrapers) t.join();
    EXPECT_EQ(done, 4);
    std::cout << "4 concurrent HTTP scrapes: " << SecondsSince(start) * 1000
              << " ms, peak RSS +" << MiB(PeakBytes() - steady)
              << " MiB, RSS after +" << MiB(ResidentBytes() - steady)
              << " MiB\n";
  }

  // Serialize(), for tests, builds the whole text.
  steady = ResidentBytes();
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
  // Buffers of a scrape: 64 KiB of text, chunks of series pointers.
  if (peaks_reset) {
    EXPECT_LT(worst_peak, 4.0);
  }
#endif
}

}  // namespace
}  // namespace watchd
