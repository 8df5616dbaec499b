// What every fault test asserts last: whatever the fault did, watchd is
// still running and on schedule. The test runs a sentinel service beside
// its fault: one healthy http check every 100 ms.
#ifndef WATCHD_TESTS_SUPPORT_ON_SCHEDULE_H_
#define WATCHD_TESTS_SUPPORT_ON_SCHEDULE_H_

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace watchd::testing {

class HttpServer;
class WatchdProcess;

// The `services:` entry (indented two spaces) of the sentinel service,
// probing `server`'s /ok.
std::string SentinelService(const HttpServer& server);

// Success when watchd is running, its sentinel check has just passed
// `runs` more times, and the scheduler's lateness p99 over those runs is at
// most `bound`.
// The p99 seen is recorded as the test property "lateness_p99_ms".
::testing::AssertionResult StillOnSchedule(
    WatchdProcess& watchd,
    std::chrono::milliseconds bound = std::chrono::milliseconds(50),
    int runs = 5);

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_ON_SCHEDULE_H_
