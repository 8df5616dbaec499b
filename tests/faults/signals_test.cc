// Signals an operator or a script may send watchd in bulk. See
// docs/reliability.md, "Fault matrix".
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/on_schedule.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

std::string WebService(const HttpServer& server, const std::string& name) {
  return "  " + name + ":\n    checks:\n      up:\n        http: {url: \"" +
         server.Url("/ok") + "\"}\n        interval: 200ms\n";
}

// 100 SIGHUPs within a second, after the file gained a service: watchd
// stays up and on schedule, reads the file at most once per signal (a
// reload asked for while one runs is folded into one more), never fails a
// reload, and ends up running the new file.
TEST(SignalFault, AHundredSighupsInASecondLeaveItOnScheduleOnTheNewFile) {
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  const std::string before = SentinelService(server) + WebService(server, "a");
  WatchdProcess watchd(before);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(watchd.Rewrite(before + WebService(server, "b")));

  const pid_t pid = watchd.process().pid();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(kill(pid, SIGHUP), 0);
    // Spread over most of a second, so that reloads start and end among
    // them rather than all 100 merging into one pending signal.
    std::this_thread::sleep_until(start + milliseconds(8 * i));
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        return FindMetric(watchd.Scrape(), "watchd_probes_total",
                          {{"service", "b"}, {"result", "success"}})
            .has_value();
      },
      seconds(30)))
      << watchd.Log();
  // Every SIGHUP has been handled once no reload starts for a second: one
  // asked for during a reload runs right after it.
  size_t reloads = 0;
  std::string log;
  ASSERT_TRUE(WaitFor(
      [&] {
        log = watchd.Log();
        size_t now = Count(log, "reloaded " + watchd.config_path());
        bool settled = now == reloads;
        reloads = now;
        return settled;
      },
      seconds(30), milliseconds(1000)));
  EXPECT_GE(reloads, 1u) << log;
  EXPECT_LE(reloads, Count(log, "received Hangup")) << log;
  EXPECT_EQ(Count(log, "reload of"), 0u) << log;
  EXPECT_EQ(FindMetric(watchd.Scrape(), "watchd_config_last_reload_successful"),
            1);
  EXPECT_TRUE(StillOnSchedule(watchd));
}

}  // namespace
}  // namespace watchd::testing
