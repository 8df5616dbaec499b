#include "control/protocol.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

std::string ErrorOf(const std::string& line) {
  auto r = ParseControlRequest(line);
  return r.ok() ? "" : r.status().message();
}

TEST(ControlProtocol, ParsesARequest) {
  auto r = ParseControlRequest(R"({"v":1,"cmd":"status","services":["web"]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->cmd, "status");
  EXPECT_EQ(r->args["services"][0], "web");
}

TEST(ControlProtocol, NamesWhatIsWrong) {
  EXPECT_EQ(ErrorOf("status"), "request is not valid JSON");
  EXPECT_EQ(ErrorOf("[1,2]"), "request is not a JSON object");
  EXPECT_EQ(ErrorOf(R"({"cmd":"status"})"),
            "request has no protocol version \"v\"");
  EXPECT_EQ(ErrorOf(R"({"v":"1","cmd":"status"})"),
            "request has no protocol version \"v\"");
  EXPECT_EQ(ErrorOf(R"({"v":2,"cmd":"status"})"),
            "protocol version 2 is not supported (this watchd speaks 1)");
  EXPECT_EQ(ErrorOf(R"({"v":1})"), "request has no command \"cmd\"");
  EXPECT_EQ(ErrorOf(R"({"v":1,"cmd":""})"), "request has no command \"cmd\"");
  EXPECT_EQ(ErrorOf(R"({"v":1,"cmd":7})"), "request has no command \"cmd\"");
  const char kWithNul[] = "{\"v\":1,\"cmd\":\"st\0\",";
  EXPECT_EQ(ErrorOf(std::string(kWithNul, sizeof(kWithNul) - 1)),
            "request is not valid JSON");
}

TEST(ControlProtocol, ActingCommandsAreTheOnesThatChangeThings) {
  for (const char* c : {"restart", "pause", "resume", "reload", "ping"}) {
    EXPECT_TRUE(IsActingCommand(c)) << c;
  }
  for (const char* c : {"status", "summary", "version", "nonsense"}) {
    EXPECT_FALSE(IsActingCommand(c)) << c;
  }
}

TEST(ControlProtocol, RepliesAreOneParseableLine) {
  std::string ok = OkReply({{"name", std::string("we\xff\nb")}});
  ASSERT_EQ(ok.back(), '\n');
  EXPECT_EQ(ok.find('\n'), ok.size() - 1) << "one line";
  auto j = nlohmann::json::parse(ok);
  EXPECT_EQ(j["v"], kControlProtocolVersion);
  EXPECT_EQ(j["ok"], true);
  std::string err = ErrorReply(kErrUnknownService, "no service 'x'");
  auto e = nlohmann::json::parse(err);
  EXPECT_EQ(e["ok"], false);
  EXPECT_EQ(e["error"]["code"], "unknown_service");
  EXPECT_EQ(e["error"]["message"], "no service 'x'");
}

}  // namespace
}  // namespace watchd
