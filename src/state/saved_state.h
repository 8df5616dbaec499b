// What watchd keeps across its own restarts (daemon.state_file): per
// service, whether the operator paused it, the restarts that still count
// toward restart_limit, the backoff, whether the limit was reached, the
// process it recorded, and per check its verdict and counters. The JSON
// form is versioned and read strictly: anything watchd would not have
// written is an error naming where it is, never an exception.
#ifndef WATCHD_STATE_SAVED_STATE_H_
#define WATCHD_STATE_SAVED_STATE_H_

#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace watchd {

// The version this watchd writes and the only one it reads.
inline constexpr int kStateFormatVersion = 1;

// A wall-clock time (CLOCK_REALTIME): unlike the loop's monotonic
// TimePoints it means the same after a reboot or a restart of watchd.
using WallTime = std::chrono::system_clock::time_point;

// One reading of both clocks, taken when a state is saved or loaded, that
// carries times from one clock to the other by their distance from now: a
// restart 3 minutes before the save is saved as the wall-clock time 3
// minutes before the save, and restored as the monotonic time that is as
// far before the load as the wall clock says. The time watchd was down
// therefore counts (a restart 9 minutes ago leaves a 10-minute window 1
// minute after the restart of watchd), and a wall clock stepped while
// watchd was down shifts every saved time by the step.
struct ClockReading {
  TimePoint mono;
  WallTime wall;

  WallTime ToWall(TimePoint t) const {
    return wall + std::chrono::duration_cast<WallTime::duration>(t - mono);
  }
  TimePoint ToMono(WallTime t) const {
    return mono + std::chrono::duration_cast<Duration>(t - wall);
  }
  // For a time that was past when it was saved: one the wall clock puts
  // in the future (it was stepped back meanwhile) is taken as now, so a
  // step back never makes a restart count longer than its window.
  TimePoint PastToMono(WallTime t) const { return std::min(ToMono(t), mono); }
};

enum class SavedCheckState { kPending, kPassing, kFailing };

struct SavedCheck {
  SavedCheckState state = SavedCheckState::kPending;
  int consecutive_failures = 0;
  int consecutive_successes = 0;

  bool operator==(const SavedCheck&) const = default;
};

// A process as recorded: pid + start time name it within one boot, and
// the boot id (/proc/sys/kernel/random/boot_id) says which boot.
struct SavedProcess {
  pid_t pid = 0;
  uint64_t start_time = 0;  // clock ticks since boot, /proc/PID/stat
  std::string boot_id;

  bool operator==(const SavedProcess&) const = default;
};

struct SavedService {
  bool paused = false;  // by the operator
  bool limit_reached = false;
  // Done restarts that still count toward restart_limit, oldest first.
  std::vector<WallTime> restarts;
  // Consecutive restarts (the backoff's exponent) and when the next one
  // may be asked; none: at once.
  int consecutive_restarts = 0;
  std::optional<WallTime> next_restart_allowed;
  std::optional<SavedProcess> process;
  std::map<std::string, SavedCheck> checks;  // by check name

  bool operator==(const SavedService&) const = default;
};

struct SavedState {
  std::map<std::string, SavedService> services;  // by service name

  bool operator==(const SavedState&) const = default;
};

// The JSON text of `state`: one service per line, times as RFC 3339 UTC
// to the millisecond (later digits are dropped). Names that are not valid
// UTF-8 have the bad bytes replaced (they will not match at load).
std::string SerializeState(const SavedState& state);

// Parses SerializeState's text. Errors name the first thing wrong and
// where: "not valid JSON: ... at line 1, column 40", "version 999 is not
// supported (this watchd reads version 1)", "services.web.paused: expected
// true or false, not \"yes\"".
Result<SavedState> ParseState(std::string_view text);

// "2026-12-06T16:26:33.123Z"; and back, strictly that form (a real date,
// years 0000-9999), or nullopt.
std::string FormatWallTime(WallTime t);
std::optional<WallTime> ParseWallTime(std::string_view text);

// The form of /proc/sys/kernel/random/boot_id: 36 characters, lower-case
// hex in groups of 8-4-4-4-12.
bool IsBootId(std::string_view text);

}  // namespace watchd

#endif  // WATCHD_STATE_SAVED_STATE_H_
