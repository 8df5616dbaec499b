#include "notify/template.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

Notification Hung() {
  Notification n;
  n.event = NotifyEvent::kHung;
  n.service = "web";
  n.state = "hung";
  n.previous_state = "ok";
  n.reason = "health: timeout after 2s";
  n.check = "health";
  n.time = SystemTime(std::chrono::milliseconds(1714564800123));
  n.host = "box";
  return n;
}

TEST(TemplateTest, Rfc3339InUtcWithMilliseconds) {
  EXPECT_EQ(
      NotificationTime(SystemTime(std::chrono::milliseconds(1714564800123))),
      "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(NotificationTime(SystemTime{}), "1970-01-01T00:00:00.000Z");
}

TEST(TemplateTest, EveryFieldRenders) {
  EXPECT_EQ(RenderText("watchd: {service} {event}", Hung()),
            "watchd: web hung");
  EXPECT_EQ(RenderText("{state} (was {previous_state}) on {host} at {time}: "
                       "{check}: {reason}",
                       Hung()),
            "hung (was ok) on box at 2024-05-01T12:00:00.123Z: health: "
            "health: timeout after 2s");
}

TEST(TemplateTest, OtherBracesStayAsWritten) {
  EXPECT_EQ(RenderText("{\"service\": \"{service}\"} {nope} {", Hung()),
            "{\"service\": \"web\"} {nope} {");
  EXPECT_EQ(RenderText("{{service}}", Hung()), "{web}");
}

TEST(TemplateTest, ValuesAreNotRenderedAgain) {
  Notification n = Hung();
  n.reason = "{service}";
  EXPECT_EQ(RenderText("{reason}", n), "{service}");
}

}  // namespace
}  // namespace watchd
