#include "tests/support/on_schedule.h"

#include <optional>

#include "tests/support/http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

double SentinelPasses(const std::vector<Sample>& samples) {
  return FindMetric(samples, "watchd_probes_total",
                    {{"service", "sentinel"},
                     {"check", "alive"},
                     {"result", "success"}})
      .value_or(0);
}

constexpr char kLateness[] = "watchd_scheduler_lateness_seconds";

// The lateness histogram's samples of `after` less those of `before`: what
// was observed in between.
std::vector<Sample> LatenessBetween(const std::vector<Sample>& before,
                                    const std::vector<Sample>& after) {
  std::vector<Sample> delta;
  for (const Sample& s : after) {
    if (!s.name.starts_with(kLateness)) continue;
    Sample d = s;
    for (const Sample& b : before) {
      if (b.name == s.name && b.labels == s.labels) {
        d.value -= b.value;
        break;
      }
    }
    delta.push_back(std::move(d));
  }
  return delta;
}

}  // namespace

std::string SentinelService(const HttpServer& server) {
  return "  sentinel:\n    checks:\n      alive:\n        http: {url: \"" +
         server.Url("/ok") +
         "\"}\n        interval: 100ms\n        timeout: 100ms\n"
         "        jitter: 0%\n";
}

::testing::AssertionResult StillOnSchedule(WatchdProcess& watchd,
                                           std::chrono::milliseconds bound,
                                           int runs) {
  if (!watchd.process().running()) {
    return ::testing::AssertionFailure() << "watchd is not running";
  }
  std::vector<Sample> samples = watchd.Scrape();
  if (samples.empty()) {
    return ::testing::AssertionFailure() << "/metrics does not answer";
  }
  const std::vector<Sample> start = samples;
  const double before = SentinelPasses(samples);
  // At 100 ms a run, `runs` more passes take runs/10 s; the deadline
  // leaves room for a loaded machine.
  if (!WaitFor(
          [&] {
            samples = watchd.Scrape();
            return SentinelPasses(samples) >= before + runs;
          },
          std::chrono::seconds(30), std::chrono::milliseconds(50))) {
    return ::testing::AssertionFailure()
           << "the sentinel check passed " << SentinelPasses(samples) - before
           << " times in 30 s, not " << runs;
  }
  // Over those runs, not since the start: whatever the fault did, the
  // schedule is kept now.
  std::optional<double> p99 =
      HistogramQuantile(LatenessBetween(start, samples), kLateness, 0.99);
  if (!p99) {
    return ::testing::AssertionFailure() << "no lateness was observed";
  }
  ::testing::Test::RecordProperty("lateness_p99_ms",
                                  std::to_string(*p99 * 1000));
  if (*p99 * 1000 > static_cast<double>(bound.count())) {
    return ::testing::AssertionFailure()
           << "lateness p99 " << *p99 * 1000 << " ms, bound " << bound.count()
           << " ms";
  }
  if (!watchd.process().running()) {
    return ::testing::AssertionFailure() << "watchd exited";
  }
  return ::testing::AssertionSuccess();
}

}  // namespace watchd::testing
