// Durations as written in watchd.yaml: a number with a unit ("250ms", "10s",
// "5m", "1h"), or several ("1m30s"). A bare number is an error: "10" could
// mean seconds or milliseconds, so it has to say which.
#ifndef WATCHD_CONFIG_DURATION_H_
#define WATCHD_CONFIG_DURATION_H_

#include <string_view>

#include "core/clock.h"
#include "core/status.h"

namespace watchd {

// The longest duration accepted: a year, far beyond any sane interval, and
// far enough from the clock's range that deadlines cannot overflow.
inline constexpr Duration kMaxConfigDuration = std::chrono::hours(24 * 365);

// Parses `<number><unit>` repeated, number decimal (fraction allowed: "1.5s"),
// unit ns|us|ms|s|m|h. Never negative, at most kMaxConfigDuration. Reads
// back what FormatDuration (core/clock.h) writes.
Result<Duration> ParseDuration(std::string_view text);

}  // namespace watchd

#endif  // WATCHD_CONFIG_DURATION_H_
