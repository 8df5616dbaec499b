#include "config/diagnostics.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

namespace watchd {

std::string ConfigError::ToString() const {
  if (location.file.empty()) return message;
  if (location.line <= 0) return location.file + ": " + message;
  return location.file + ":" + std::to_string(location.line) + ":" +
         std::to_string(location.column) + ": " + message;
}

void Diagnostics::Error(SourceLocation location, std::string message) {
  if (spent_) return;
  ++total_errors_;
  if (errors_.size() < kMaxErrors) {
    errors_.push_back(ConfigError{std::move(location), std::move(message)});
  }
}

std::vector<ConfigError> Diagnostics::Take(
    const std::vector<std::string>& files) {
  std::unordered_map<std::string, size_t> order;
  for (size_t i = 0; i < files.size(); ++i) order.emplace(files[i], i + 1);
  auto key = [&](const ConfigError& e) {
    auto it = order.find(e.location.file);
    size_t file = it == order.end() ? 0 : it->second;
    return std::make_tuple(file, e.location.line, e.location.column);
  };
  std::stable_sort(errors_.begin(), errors_.end(),
                   [&](const ConfigError& a, const ConfigError& b) {
                     return key(a) < key(b);
                   });
  if (total_errors_ > errors_.size()) {
    SourceLocation where;
    if (!files.empty()) where.file = files.front();
    errors_.push_back(
        ConfigError{where, std::to_string(total_errors_ - errors_.size()) +
                               " more errors not shown"});
  }
  total_errors_ = 0;
  return std::move(errors_);
}

}  // namespace watchd
