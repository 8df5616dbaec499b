#include "control/reply_header.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace watchd {
namespace {

using States = std::map<std::string, int64_t>;

TEST(ReplyHeaderTest, StopsAtTheServicesWhenStatesCameFirst) {
  // The list after "services" is cut off: it is never read.
  auto h = ReadReplyHeader(
      R"({"v":1,"ok":true,"daemon":{"services":3,"pid":1},)"
      R"("states":{"hung":1,"ok":2},"services":[{"name":"a","sta)");
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->ok);
  EXPECT_EQ(h->states, (States{{"hung", 1}, {"ok", 2}}));
}

TEST(ReplyHeaderTest, CountsTheServicesWhenNoStatesCame) {
  auto h = ReadReplyHeader(
      R"({"ok":true,"services":[{"name":"a","state":"ok","checks":)"
      R"([{"state":"failing"}]},{"state":"hung","depends_on":["state"]},)"
      R"({"name":"c","state":"ok"}],"daemon":{"state":"x"}})");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->states, (States{{"hung", 1}, {"ok", 2}}));
}

TEST(ReplyHeaderTest, ErrorsAndOtherReplies) {
  auto h = ReadReplyHeader(
      R"({"v":1,"ok":false,"error":{"code":"unknown_service",)"
      R"("message":"no service 'x'","detail":{"code":"not this"}}})");
  ASSERT_TRUE(h.has_value());
  EXPECT_FALSE(h->ok);
  EXPECT_EQ(h->error_code, "unknown_service");
  EXPECT_EQ(h->error_message, "no service 'x'");
  h = ReadReplyHeader(R"({"v":1,"ok":true,"version":"0.1.0","protocol":1})");
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->ok);
  EXPECT_TRUE(h->states.empty());
}

TEST(ReplyHeaderTest, WhatIsNotAReply) {
  for (const char* bad :
       {"", "[]", "{", "garbage", R"({"v":1})", R"({"ok":"yes"})",
        R"({"ok":true,"states":{"ok":1}})x", R"({"data":{"ok":true}})",
        R"({"ok":true,"services":[{"state":"ok"})"}) {
    EXPECT_FALSE(ReadReplyHeader(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace watchd
