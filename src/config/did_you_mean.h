// "did you mean" suggestions for misspelt keys, enum values and names.
#ifndef WATCHD_CONFIG_DID_YOU_MEAN_H_
#define WATCHD_CONFIG_DID_YOU_MEAN_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace watchd {

// Optimal string alignment distance (insertions, deletions, substitutions
// and transpositions of neighbours each cost 1), ignoring ASCII case.
int EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if one is close enough to be a likely
// typo; ties go to the earlier candidate.
std::optional<std::string> ClosestMatch(
    std::string_view word, std::span<const std::string_view> candidates);

// " (did you mean 'x'?)" for the closest match, else "".
std::string DidYouMean(std::string_view word,
                       std::span<const std::string_view> candidates);

}  // namespace watchd

#endif  // WATCHD_CONFIG_DID_YOU_MEAN_H_
