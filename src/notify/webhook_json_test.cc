#include "notify/webhook_json.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace watchd {
namespace {

Notification Failing(const std::string& service) {
  Notification n;
  n.event = NotifyEvent::kFailing;
  n.service = service;
  n.state = "failing";
  n.previous_state = "ok";
  n.reason = "port: connection refused";
  n.check = "port";
  n.time = SystemTime(std::chrono::milliseconds(1714564800123));
  n.host = "box";
  return n;
}

TEST(WebhookJsonTest, OneNotificationIsAnObjectWithEveryField) {
  auto j = nlohmann::json::parse(WebhookBody({Failing("web")}));
  EXPECT_EQ(j, nlohmann::json::parse(R"({
    "event": "failing", "service": "web", "state": "failing",
    "previous_state": "ok", "reason": "port: connection refused",
    "check": "port", "time": "2024-05-01T12:00:00.123Z", "host": "box",
    "reminder": false})"));
}

TEST(WebhookJsonTest, WatchdsOwnEventsHaveNullServiceFields) {
  Notification n;
  n.event = NotifyEvent::kStarted;
  n.reason = "watching 3 services";
  n.host = "box";
  auto j = nlohmann::json::parse(WebhookBody({n}));
  EXPECT_EQ(j["event"], "started");
  EXPECT_TRUE(j["service"].is_null());
  EXPECT_TRUE(j["state"].is_null());
  EXPECT_TRUE(j["previous_state"].is_null());
  EXPECT_TRUE(j["check"].is_null());
  EXPECT_EQ(j["reason"], "watching 3 services");
}

TEST(WebhookJsonTest, ADigestIsAnArrayInOrder) {
  auto j = nlohmann::json::parse(
      WebhookBody({Failing("a"), Failing("b"), Failing("c")}));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[2]["service"], "c");
}

TEST(WebhookJsonTest, TextFromTheNetworkIsEscapedAndInvalidUtf8Replaced) {
  Notification n = Failing("web");
  n.reason = "body \"x\"\n\x01 \xff end";
  auto j = nlohmann::json::parse(WebhookBody({n}));
  EXPECT_EQ(j["reason"], "body \"x\"\n\x01 \xEF\xBF\xBD end");
}

}  // namespace
}  // namespace watchd
