#include "tests/support/metrics_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

namespace watchd::testing {
namespace {

bool Matches(const Sample& s, const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

std::vector<Sample> ParseMetrics(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string::npos) break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        size_t j = eq + 2;  // past ="
        while (j < line.size() && line[j] != '"') {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
            ++j;
            continue;
          }
          value += line[j++];
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // past }
    }
    std::string value = line.substr(i);
    size_t start = value.find_first_not_of(' ');
    if (start == std::string::npos) continue;
    value = value.substr(start);
    value = value.substr(0, value.find(' '));  // drop a timestamp
    if (value == "+Inf") {
      s.value = std::numeric_limits<double>::infinity();
    } else if (value == "-Inf") {
      s.value = -std::numeric_limits<double>::infinity();
    } else {
      s.value = strtod(value.c_str(), nullptr);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> FindMetric(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  for (const auto& s : samples) {
    if (s.name == name && Matches(s, labels)) return s.value;
  }
  return std::nullopt;
}

std::optional<double> HistogramQuantile(
    const std::vector<Sample>& samples, const std::string& name, double q,
    const std::map<std::string, std::string>& labels) {
  std::map<double, double> buckets;  // le -> cumulative count
  for (const auto& s : samples) {
    if (s.name != name + "_bucket" || !Matches(s, labels)) continue;
    auto le = s.labels.find("le");
    if (le == s.labels.end()) continue;
    double bound = le->second == "+Inf"
                       ? std::numeric_limits<double>::infinity()
                       : strtod(le->second.c_str(), nullptr);
    buckets[bound] += s.value;
  }
  if (buckets.empty()) return std::nullopt;
  double total = buckets.rbegin()->second;
  if (total <= 0) return std::nullopt;
  for (const auto& [bound, count] : buckets) {
    if (count >= q * total) return bound;
  }
  return buckets.rbegin()->first;
}

}  // namespace watchd::testing
