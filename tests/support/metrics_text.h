// Parses Prometheus text exposition for assertions in tests.
#ifndef WATCHD_TESTS_SUPPORT_METRICS_TEXT_H_
#define WATCHD_TESTS_SUPPORT_METRICS_TEXT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace watchd::testing {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

std::vector<Sample> ParseMetrics(const std::string& text);

// The value of the one sample named `name` whose labels include `labels`;
// nullopt when none matches.
std::optional<double> FindMetric(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels = {});

// The q-quantile (0..1) upper bound from a histogram's cumulative buckets
// (`name` without _bucket), over samples matching `labels`, summed; nullopt
// when the histogram has no observations.
std::optional<double> HistogramQuantile(
    const std::vector<Sample>& samples, const std::string& name, double q,
    const std::map<std::string, std::string>& labels = {});

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_METRICS_TEXT_H_
