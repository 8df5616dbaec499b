#include "config/did_you_mean.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace watchd {
namespace {

char Lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Names longer than this are not typos of a key; also bounds the work.
constexpr size_t kMaxCompared = 128;

}  // namespace

int EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  // Three rows: the one before the previous is needed for transpositions.
  std::vector<int> before(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= m; ++j) {
      int cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) &&
          Lower(a[i - 2]) == Lower(b[j - 1])) {
        cur[j] = std::min(cur[j], before[j - 2] + 1);
      }
    }
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::optional<std::string> ClosestMatch(
    std::string_view word, std::span<const std::string_view> candidates) {
  if (word.empty() || word.size() > kMaxCompared) return std::nullopt;
  // Allow about one typo per three letters, at least one and at most three.
  const int limit = std::clamp(static_cast<int>(word.size()) / 3, 1, 3);
  std::optional<std::string> best;
  int best_distance = limit + 1;
  for (std::string_view candidate : candidates) {
    if (candidate.size() > kMaxCompared) continue;
    // The distance is at least the difference in length: skip cheaply.
    int length_gap =
        static_cast<int>(candidate.size()) - static_cast<int>(word.size());
    if (std::abs(length_gap) >= best_distance) continue;
    int distance = EditDistance(word, candidate);
    // A distance as large as the candidate means nothing in common.
    if (distance < best_distance &&
        distance < static_cast<int>(candidate.size())) {
      best_distance = distance;
      best = std::string(candidate);
    }
  }
  return best;
}

std::string DidYouMean(std::string_view word,
                       std::span<const std::string_view> candidates) {
  std::optional<std::string> match = ClosestMatch(word, candidates);
  return match ? " (did you mean '" + *match + "'?)" : "";
}

}  // namespace watchd
