#include "health/restart_policy.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(RestartPolicyTest, LimitCountsDoneRestartsWithinTheWindow) {
  RestartLimit limit{2, minutes(10), RestartLimitAction::kUnmonitor};
  RestartBackoff backoff{seconds(5), minutes(5)};
  RestartPolicy policy(limit, backoff);
  TimePoint t{minutes(60)};
  EXPECT_FALSE(policy.LimitReached(t));
  policy.Ended(t, /*done=*/true);
  policy.Ended(t + seconds(1), /*done=*/false);  // failed: not counted
  EXPECT_FALSE(policy.LimitReached(t + seconds(2)));
  policy.Ended(t + seconds(3), /*done=*/true);
  EXPECT_TRUE(policy.LimitReached(t + seconds(4)));
  EXPECT_EQ(policy.total(), 2);
  // The first falls out of the window.
  EXPECT_FALSE(policy.LimitReached(t + minutes(10) + seconds(1)));
  EXPECT_EQ(policy.recent(), 1);
}

TEST(RestartPolicyTest, BackoffDoublesUpToItsMaxAndIsForgiven) {
  RestartLimit limit{100, minutes(10), RestartLimitAction::kUnmonitor};
  RestartBackoff backoff{seconds(5), seconds(30)};
  RestartPolicy policy(limit, backoff);
  TimePoint t{minutes(60)};
  EXPECT_LE(policy.next_allowed(), t) << "the first restart is immediate";
  const Duration expected[] = {seconds(5), seconds(10), seconds(20),
                               seconds(30), seconds(30)};
  for (Duration d : expected) {
    policy.Ended(t, /*done=*/false);
    EXPECT_EQ(policy.next_allowed() - t, d);
  }
  policy.Forgive();
  policy.Ended(t, /*done=*/true);
  EXPECT_EQ(policy.next_allowed() - t, seconds(5));
  policy.Reset();
  EXPECT_EQ(policy.consecutive(), 0);
  EXPECT_EQ(policy.recent(), 0);
  EXPECT_LE(policy.next_allowed(), t);
}

}  // namespace
}  // namespace watchd
