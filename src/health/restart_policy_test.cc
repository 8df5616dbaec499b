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

// What the state file keeps: the restarts within the window, and a
// policy restored from them goes on as the one that saved them would.
TEST(RestartPolicyTest, RestoredRestartsCountTowardTheLimit) {
  RestartLimit limit{2, minutes(10), RestartLimitAction::kUnmonitor};
  RestartBackoff backoff{seconds(5), minutes(5)};
  RestartPolicy before(limit, backoff);
  TimePoint t{minutes(60)};
  before.Ended(t - minutes(11), /*done=*/true);  // out of the window by now
  before.Ended(t - minutes(3), /*done=*/true);
  before.Ended(t - minutes(2), /*done=*/false);
  const std::vector<TimePoint> recent = before.RecentRestarts(t);
  EXPECT_EQ(recent, std::vector<TimePoint>{t - minutes(3)});

  RestartPolicy after(limit, backoff);
  after.Restore(t, recent, before.consecutive(), before.next_allowed());
  EXPECT_EQ(after.consecutive(), 3);
  EXPECT_EQ(after.next_allowed(), before.next_allowed());
  EXPECT_EQ(after.total(), 0) << "this watchd's own count";
  EXPECT_FALSE(after.LimitReached(t));
  EXPECT_EQ(after.recent(), 1);
  after.Ended(t + seconds(30), /*done=*/true);
  EXPECT_TRUE(after.LimitReached(t + seconds(31)));
  // The backoff goes on from the restored count: the fourth in a row.
  EXPECT_EQ(after.next_allowed() - (t + seconds(30)), seconds(40));
}

TEST(RestartPolicyTest, RestoreKeepsTheNewestMaxAndBoundsTheBackoff) {
  RestartLimit limit{2, minutes(10), RestartLimitAction::kUnmonitor};
  RestartBackoff backoff{seconds(5), minutes(5)};
  RestartPolicy policy(limit, backoff);
  TimePoint t{minutes(60)};
  // Five restarts (the limit was larger then): two are all that matter.
  policy.Restore(t,
                 {t - minutes(9), t - minutes(8), t - minutes(7),
                  t - minutes(2), t - minutes(1)},
                 5, t + std::chrono::hours(2));
  EXPECT_TRUE(policy.LimitReached(t));
  EXPECT_EQ(policy.RecentRestarts(t),
            (std::vector<TimePoint>{t - minutes(2), t - minutes(1)}));
  // A next-allowed time two hours away (a wall clock stepped back while
  // watchd was down) waits no longer than the longest backoff.
  EXPECT_EQ(policy.next_allowed(), t + minutes(5));
}

}  // namespace
}  // namespace watchd
