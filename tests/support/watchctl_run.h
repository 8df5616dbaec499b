// The real watchctl binary run by an end-to-end test: its exit code and
// what it printed, optionally as another user (the permission split).
#ifndef WATCHD_TESTS_SUPPORT_WATCHCTL_RUN_H_
#define WATCHD_TESTS_SUPPORT_WATCHCTL_RUN_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace watchd::testing {

struct WatchctlResult {
  int exit_code = -1;  // -1: did not exit in time (it was killed)
  std::string out;
  std::string err;
};

struct WatchctlOptions {
  std::optional<uid_t> uid;  // run as this uid and gid (no supplementary)
  std::optional<gid_t> gid;
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

// Runs `watchctl -s SOCKET ARGS...` (no -s when socket is "").
WatchctlResult RunWatchctl(const std::string& socket,
                           const std::vector<std::string>& args,
                           const WatchctlOptions& options = {});

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_WATCHCTL_RUN_H_
