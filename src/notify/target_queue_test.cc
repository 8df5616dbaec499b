#include "notify/target_queue.h"

#include <gtest/gtest.h>

#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "metrics/series.h"
#include "notify/notify_testing.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::Event;
using testing::FakeSender;

class TargetQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    auto metrics = Metrics::Create("", "test");
    ASSERT_TRUE(metrics.ok());
    metrics_ = std::move(metrics).value();
  }

  void Make(TargetQueue::Policy policy) {
    auto sender = std::make_unique<FakeSender>();
    sender_ = sender.get();
    queue_ = std::make_unique<TargetQueue>("ops", &loop_, std::move(sender),
                                           policy, metrics_.get());
  }

  // The loop keeping time: it runs every `step` of the fake clock.
  void Advance(Duration d, Duration step = milliseconds(10)) {
    loop_.RunOnce(Duration::zero());
    for (Duration done{0}; done < d; done += step) {
      clock_.Advance(step);
      loop_.RunOnce(Duration::zero());
    }
  }

  uint64_t Count(NotifyResultLabel result) {
    return metrics_->AddNotifyTarget("ops")
        ->notifications[static_cast<size_t>(result)]
        .value();
  }
  uint64_t Dropped() {
    return metrics_->AddNotifyTarget("ops")->dropped.value();
  }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  std::unique_ptr<Metrics> metrics_;
  FakeSender* sender_ = nullptr;
  std::unique_ptr<TargetQueue> queue_;
};

TEST_F(TargetQueueTest, TheFirstEventGoesOutOnTheNextPassAlone) {
  Make({seconds(10), 100, {}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  EXPECT_TRUE(sender_->sent.empty()) << "Push never sends";
  loop_.RunOnce(Duration::zero());
  ASSERT_EQ(sender_->sent.size(), 1u);
  EXPECT_EQ(sender_->sent[0].size(), 1u);
  sender_->Complete();
  EXPECT_TRUE(queue_->idle());
  EXPECT_EQ(Count(NotifyResultLabel::kSent), 1u);
}

TEST_F(TargetQueueTest, EventsOfOnePassAreOneMessage) {
  Make({seconds(10), 1000, {}});
  for (int i = 0; i < 500; ++i) {
    queue_->Push(Event(NotifyEvent::kFailing, "svc" + std::to_string(i)));
  }
  loop_.RunOnce(Duration::zero());
  ASSERT_EQ(sender_->sent.size(), 1u);
  EXPECT_EQ(sender_->sent[0].size(), 500u);
  EXPECT_EQ(sender_->sent[0][499].service, "svc499");
  sender_->Complete();
  EXPECT_EQ(Count(NotifyResultLabel::kSent), 500u);
}

TEST_F(TargetQueueTest, EventsWithinTheWindowMakeOneDigestAtItsEnd) {
  Make({seconds(10), 100, {}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  sender_->Complete();
  // A flapping service: a change every 500 ms for 9 s.
  for (int i = 0; i < 18; ++i) {
    queue_->Push(
        Event(i % 2 ? NotifyEvent::kHung : NotifyEvent::kRecovered, "web"));
    Advance(milliseconds(500));
  }
  EXPECT_EQ(sender_->sent.size(), 1u) << "held until the window ends";
  Advance(seconds(1) + milliseconds(20));
  ASSERT_EQ(sender_->sent.size(), 2u);
  EXPECT_EQ(sender_->sent[1].size(), 18u);
  EXPECT_EQ(sender_->sent[1][0].event, NotifyEvent::kRecovered);
}

TEST_F(TargetQueueTest, AQuietTargetSendsAtOnceAgain) {
  Make({seconds(10), 100, {}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  sender_->Complete();
  Advance(seconds(11));
  queue_->Push(Event(NotifyEvent::kRecovered, "web"));
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(sender_->sent.size(), 2u);
}

TEST_F(TargetQueueTest, EventsDuringADeliveryFollowItAsADigest) {
  Make({Duration::zero(), 100, {}});
  queue_->Push(Event(NotifyEvent::kHung, "a"));
  loop_.RunOnce(Duration::zero());
  queue_->Push(Event(NotifyEvent::kHung, "b"));
  queue_->Push(Event(NotifyEvent::kHung, "c"));
  Advance(seconds(1));
  EXPECT_EQ(sender_->sent.size(), 1u) << "one message at a time";
  sender_->Complete();
  loop_.RunOnce(Duration::zero());
  ASSERT_EQ(sender_->sent.size(), 2u);
  EXPECT_EQ(sender_->sent[1].size(), 2u);
}

TEST_F(TargetQueueTest, RetriesWithBackoffAndCarriesWhatArrivedMeanwhile) {
  Make({Duration::zero(), 100, {5, seconds(1), minutes(10)}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  sender_->Fail(/*retry=*/true);
  queue_->Push(Event(NotifyEvent::kDead, "db"));
  Advance(milliseconds(990));
  EXPECT_EQ(sender_->sent.size(), 1u) << "not before the first delay";
  Advance(milliseconds(20));
  ASSERT_EQ(sender_->sent.size(), 2u);
  EXPECT_EQ(sender_->sent[1].size(), 2u) << "the retry carries db's event";
  sender_->Fail(/*retry=*/true);
  Advance(milliseconds(1990));
  EXPECT_EQ(sender_->sent.size(), 2u) << "the delay doubles";
  Advance(milliseconds(20));
  ASSERT_EQ(sender_->sent.size(), 3u);
  sender_->Complete();
  EXPECT_TRUE(queue_->idle());
  EXPECT_EQ(Count(NotifyResultLabel::kSent), 2u);
  EXPECT_EQ(Count(NotifyResultLabel::kFailed), 0u);
}

TEST_F(TargetQueueTest, GivesUpAfterTheAttemptsAndCountsTheFailure) {
  Make({Duration::zero(), 100, {3, seconds(1), minutes(10)}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(sender_->busy()) << i;
    sender_->Fail(/*retry=*/true);
    Advance(seconds(5));
  }
  EXPECT_EQ(sender_->sent.size(), 3u);
  EXPECT_TRUE(queue_->idle());
  EXPECT_EQ(Count(NotifyResultLabel::kFailed), 1u);
  // The next event is a new message with its own attempts.
  queue_->Push(Event(NotifyEvent::kRecovered, "web"));
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(sender_->sent.size(), 4u);
}

TEST_F(TargetQueueTest, NoRetryStartsLaterThanWithin) {
  Make({Duration::zero(), 100, {100, seconds(4), seconds(10)}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  sender_->Fail(true);  // next at +4s
  Advance(seconds(5));
  sender_->Fail(true);  // next would be at +12s: past within
  Advance(seconds(20));
  EXPECT_EQ(sender_->sent.size(), 2u);
  EXPECT_EQ(Count(NotifyResultLabel::kFailed), 1u);
}

TEST_F(TargetQueueTest, APermanentFailureIsNotRetried) {
  Make({Duration::zero(), 100, {5, seconds(1), minutes(10)}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  sender_->Fail(/*retry=*/false);
  Advance(seconds(10));
  EXPECT_EQ(sender_->sent.size(), 1u);
  EXPECT_EQ(Count(NotifyResultLabel::kFailed), 1u);
}

TEST_F(TargetQueueTest, AFullQueueDropsTheOldestAndCountsThem) {
  Make({Duration::zero(), 10, {5, seconds(1), minutes(10)}});
  queue_->Push(Event(NotifyEvent::kHung, "first"));
  loop_.RunOnce(Duration::zero());  // in flight, the receiver hangs
  for (int i = 0; i < 25; ++i) {
    queue_->Push(Event(NotifyEvent::kFailing, "s" + std::to_string(i)));
  }
  EXPECT_EQ(Dropped(), 15u);
  sender_->Complete();
  loop_.RunOnce(Duration::zero());
  ASSERT_EQ(sender_->sent.size(), 2u);
  ASSERT_EQ(sender_->sent[1].size(), 10u);
  EXPECT_EQ(sender_->sent[1].front().service, "s15") << "the newest are kept";
  EXPECT_EQ(sender_->sent[1].back().service, "s24");
}

TEST_F(TargetQueueTest, FlushSkipsTheCoalescingWindow) {
  Make({minutes(5), 100, {}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  sender_->Complete();
  queue_->Push(Event(NotifyEvent::kStopping, ""));
  Advance(seconds(1));
  EXPECT_EQ(sender_->sent.size(), 1u);
  queue_->Flush();
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(sender_->sent.size(), 2u);
}

TEST_F(TargetQueueTest, BusyBeforeIgnoresARetryDueLater) {
  Make({Duration::zero(), 100, {5, seconds(30), minutes(10)}});
  EXPECT_FALSE(queue_->BusyBefore(clock_.Now() + seconds(5)));
  queue_->Push(Event(NotifyEvent::kStopping, ""));
  EXPECT_TRUE(queue_->BusyBefore(clock_.Now() + seconds(5)));
  loop_.RunOnce(Duration::zero());
  EXPECT_TRUE(queue_->BusyBefore(clock_.Now() + seconds(5))) << "in flight";
  sender_->Fail(true);
  EXPECT_FALSE(queue_->BusyBefore(clock_.Now() + seconds(5)));
  EXPECT_TRUE(queue_->BusyBefore(clock_.Now() + seconds(30)));
  EXPECT_FALSE(queue_->idle());
}

TEST_F(TargetQueueTest, DestroyedWithAMessageInFlight) {
  Make({Duration::zero(), 100, {}});
  queue_->Push(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  queue_->Push(Event(NotifyEvent::kDead, "web"));
  queue_.reset();
  Advance(seconds(1));
}

}  // namespace
}  // namespace watchd
