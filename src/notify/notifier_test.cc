#include "notify/notifier.h"

#include <gtest/gtest.h>

#include <map>

#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "notify/notify_testing.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::Event;
using testing::FakeSender;

NotifyTargetConfig Target(const std::string& name) {
  NotifyTargetConfig t;
  t.name = name;
  t.kind = WebhookTargetConfig{"http://127.0.0.1:1/", {}, seconds(1), true};
  return t;
}

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    auto metrics = Metrics::Create("", "test");
    ASSERT_TRUE(metrics.ok());
    metrics_ = std::move(metrics).value();
    config_.coalesce = Duration::zero();
  }

  void Make() {
    auto notifier = Notifier::CreateWith(
        config_, &loop_, metrics_.get(),
        [this](const NotifyTargetConfig& t) -> Result<std::unique_ptr<Sender>> {
          if (t.name == "broken") return Status::Error("cannot send");
          auto sender = std::make_unique<FakeSender>();
          senders_[t.name] = sender.get();
          return std::unique_ptr<Sender>(std::move(sender));
        },
        "box");
    ASSERT_TRUE(notifier.ok());
    notifier_ = std::move(notifier).value();
  }

  // Every notification `target` was sent so far, each message delivered.
  std::vector<Notification> Sent(const std::string& target) {
    loop_.RunOnce(Duration::zero());
    FakeSender* s = senders_.at(target);
    if (s->busy()) s->Complete();
    std::vector<Notification> all;
    for (const auto& batch : s->sent)
      all.insert(all.end(), batch.begin(), batch.end());
    return all;
  }

  void Advance(Duration d, Duration step = milliseconds(100)) {
    for (Duration done{0}; done < d; done += step) {
      clock_.Advance(step);
      loop_.RunOnce(Duration::zero());
      for (auto& [name, s] : senders_) {
        if (s->busy()) s->Complete();
      }
    }
  }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  std::unique_ptr<Metrics> metrics_;
  NotifyConfig config_;
  std::map<std::string, FakeSender*> senders_;
  std::unique_ptr<Notifier> notifier_;
};

TEST_F(NotifierTest, FillsTimeAndHost) {
  config_.targets["all"] = Target("all");
  Make();
  notifier_->Post(Event(NotifyEvent::kHung, "web"));
  auto sent = Sent("all");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].host, "box");
  EXPECT_GT(sent[0].time.time_since_epoch().count(), 0);
}

TEST_F(NotifierTest, TargetsFilterByEventAndServicePattern) {
  config_.targets["all"] = Target("all");
  NotifyTargetConfig pages = Target("pages");
  pages.events = (1u << static_cast<int>(NotifyEvent::kHung)) |
                 (1u << static_cast<int>(NotifyEvent::kStopping));
  pages.services = {"web*", "db"};
  config_.targets["pages"] = pages;
  Make();
  notifier_->Post(Event(NotifyEvent::kHung, "web-1"));
  notifier_->Post(Event(NotifyEvent::kHung, "db"));
  notifier_->Post(Event(NotifyEvent::kHung, "cache"));
  notifier_->Post(Event(NotifyEvent::kRecovered, "web-1"));
  // watchd's own events: the services patterns do not apply.
  notifier_->PostDaemonEvent(NotifyEvent::kStopping, "received Terminated");
  EXPECT_EQ(Sent("all").size(), 5u);
  auto pages_sent = Sent("pages");
  ASSERT_EQ(pages_sent.size(), 3u);
  EXPECT_EQ(pages_sent[0].service, "web-1");
  EXPECT_EQ(pages_sent[1].service, "db");
  EXPECT_EQ(pages_sent[2].event, NotifyEvent::kStopping);
}

TEST_F(NotifierTest, AServiceNotifyListNarrowsItsTargets) {
  config_.targets["hook"] = Target("hook");
  config_.targets["mail"] = Target("mail");
  Make();
  notifier_->SetServiceTargets("web", std::vector<std::string>{"hook"});
  notifier_->SetServiceTargets("quiet", std::vector<std::string>{});
  notifier_->Post(Event(NotifyEvent::kDead, "web"));
  notifier_->Post(Event(NotifyEvent::kDead, "quiet"));
  notifier_->Post(Event(NotifyEvent::kDead, "db"));
  notifier_->PostDaemonEvent(NotifyEvent::kStarted, "");
  EXPECT_EQ(Sent("hook").size(), 3u);
  auto mail = Sent("mail");
  ASSERT_EQ(mail.size(), 2u);
  EXPECT_EQ(mail[0].service, "db");
}

TEST_F(NotifierTest, ReminderRepeatsWhileTheServiceStaysUnhealthy) {
  config_.targets["all"] = Target("all");
  config_.reminder = minutes(30);
  Make();
  notifier_->Post(Event(NotifyEvent::kHung, "web", "health: timeout"));
  Advance(minutes(29));
  EXPECT_EQ(Sent("all").size(), 1u);
  Advance(minutes(2));
  auto sent = Sent("all");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].event, NotifyEvent::kHung);
  EXPECT_EQ(sent[1].reason, "health: timeout");
  EXPECT_TRUE(sent[1].reminder);
  Advance(minutes(30));
  EXPECT_EQ(Sent("all").size(), 3u);
  // A new unhealthy event restarts the period and is what repeats.
  notifier_->Post(Event(NotifyEvent::kDead, "web"));
  Advance(minutes(29));
  EXPECT_EQ(Sent("all").size(), 4u);
  Advance(minutes(2));
  EXPECT_EQ(Sent("all").back().event, NotifyEvent::kDead);
  notifier_->StopReminder("web");
  Advance(minutes(90), seconds(10));
  EXPECT_EQ(Sent("all").size(), 5u);
}

TEST_F(NotifierTest, NoReminderWhenOff) {
  config_.targets["all"] = Target("all");
  Make();
  notifier_->Post(Event(NotifyEvent::kFailing, "web"));
  Advance(minutes(120), seconds(10));
  EXPECT_EQ(Sent("all").size(), 1u);
}

TEST_F(NotifierTest, FlushDeliversWhatWaitsWithoutTheWindow) {
  config_.targets["all"] = Target("all");
  config_.coalesce = minutes(5);
  std::unique_ptr<Notifier> notifier;
  FakeSender* sender = nullptr;
  auto made = Notifier::CreateWith(
      config_, &loop_, metrics_.get(),
      [&](const NotifyTargetConfig&) -> Result<std::unique_ptr<Sender>> {
        auto s = std::make_unique<FakeSender>(&loop_);
        sender = s.get();
        return std::unique_ptr<Sender>(std::move(s));
      },
      "box");
  ASSERT_TRUE(made.ok());
  notifier = std::move(made).value();
  notifier->Post(Event(NotifyEvent::kHung, "web"));
  loop_.RunOnce(Duration::zero());
  loop_.RunOnce(Duration::zero());
  ASSERT_EQ(sender->sent.size(), 1u);
  notifier->PostDaemonEvent(NotifyEvent::kStopping, "received Terminated");
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(sender->sent.size(), 1u) << "held by the coalescing window";
  // The fake clock stands still: Flush returns once it is delivered.
  notifier->Flush(seconds(5));
  ASSERT_EQ(sender->sent.size(), 2u);
  EXPECT_EQ(sender->sent[1][0].event, NotifyEvent::kStopping);
  EXPECT_TRUE(notifier->idle());
}

TEST_F(NotifierTest, ReloadKeepsUnchangedTargetsAndDrainsTheOthers) {
  config_.targets["kept"] = Target("kept");
  config_.targets["changed"] = Target("changed");
  config_.targets["gone"] = Target("gone");
  Make();
  FakeSender* kept = senders_.at("kept");
  FakeSender* old_changed = senders_.at("changed");
  FakeSender* gone = senders_.at("gone");
  // Waiting in the old queues as the reload comes.
  notifier_->Post(Event(NotifyEvent::kHung, "web"));

  NotifyConfig next = config_;
  next.targets.erase("gone");
  next.targets["changed"].kind =
      WebhookTargetConfig{"http://127.0.0.1:2/", {}, seconds(1), true};
  next.targets["added"] = Target("added");
  ASSERT_TRUE(notifier_->Reconfigure(next).ok());
  EXPECT_EQ(senders_.at("kept"), kept);
  EXPECT_NE(senders_.at("changed"), old_changed);
  notifier_->Post(Event(NotifyEvent::kDead, "web"));

  // The old queues deliver what they held; the new ones only what came
  // after.
  for (int i = 0; i < 3; ++i) {
    loop_.RunOnce(Duration::zero());
    for (FakeSender* s : {old_changed, gone}) {
      if (s->busy()) s->Complete();
    }
  }
  ASSERT_EQ(old_changed->sent.size(), 1u);
  EXPECT_EQ(old_changed->sent[0][0].event, NotifyEvent::kHung);
  ASSERT_EQ(gone->sent.size(), 1u);
  EXPECT_EQ(Sent("kept").size(), 2u);
  auto changed = Sent("changed");
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].event, NotifyEvent::kDead);
  EXPECT_EQ(Sent("added").size(), 1u);
  EXPECT_TRUE(notifier_->idle());
}

TEST_F(NotifierTest, ReloadThatCannotMakeASenderChangesNothing) {
  config_.targets["kept"] = Target("kept");
  Make();
  NotifyConfig next = config_;
  next.targets.erase("kept");
  next.targets["broken"] = Target("broken");
  Status s = notifier_->Reconfigure(next);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("notify target broken"), std::string::npos);
  notifier_->Post(Event(NotifyEvent::kHung, "web"));
  EXPECT_EQ(Sent("kept").size(), 1u);
}

}  // namespace
}  // namespace watchd
