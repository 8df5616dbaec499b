#include "actions/xmlrpc.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

TEST(XmlRpcTest, EncodesACallWithEscapedParams) {
  std::string call =
      EncodeXmlRpcCall("supervisor.stopProcess", {std::string("a<b&c"), true});
  EXPECT_NE(call.find("<methodName>supervisor.stopProcess</methodName>"),
            std::string::npos);
  EXPECT_NE(call.find("<string>a&lt;b&amp;c</string>"), std::string::npos);
  EXPECT_NE(call.find("<boolean>1</boolean>"), std::string::npos);
}

TEST(XmlRpcTest, DecodesAStructAsSupervisordSendsIt) {
  const std::string body =
      "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n"
      "<value><struct>\n"
      "<member>\n<name>pid</name>\n<value><int>4242</int></value>\n</member>\n"
      "<member>\n<name>statename</name>\n<value><string>RUNNING</string>"
      "</value>\n</member>\n"
      "<member>\n<name>description</name>\n<value><string>pid 4242, uptime "
      "0:00:05</string></value>\n</member>\n"
      "<member>\n<name>spawnerr</name>\n<value><string></string></value>\n"
      "</member>\n"
      "<member>\n<name>group</name>\n<value>web</value>\n</member>\n"
      "</struct></value>\n</param>\n</params>\n</methodResponse>\n";
  auto r = DecodeXmlRpcResponse(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_FALSE(r->is_fault);
  ASSERT_NE(r->value.Member("pid"), nullptr);
  EXPECT_EQ(*r->value.Member("pid")->AsInt(), 4242);
  EXPECT_EQ(*r->value.Member("statename")->AsString(), "RUNNING");
  EXPECT_EQ(*r->value.Member("group")->AsString(), "web");
  EXPECT_EQ(*r->value.Member("spawnerr")->AsString(), "");
}

TEST(XmlRpcTest, DecodesAFault) {
  const std::string body =
      "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n"
      "<member>\n<name>faultCode</name>\n<value><int>10</int></value>\n"
      "</member>\n<member>\n<name>faultString</name>\n"
      "<value><string>BAD_NAME: nope</string></value>\n</member>\n"
      "</struct></value>\n</fault>\n</methodResponse>\n";
  auto r = DecodeXmlRpcResponse(body);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->is_fault);
  EXPECT_EQ(r->fault.code, 10);
  EXPECT_EQ(r->fault.message, "BAD_NAME: nope");
}

TEST(XmlRpcTest, DecodesBooleanArrayAndNil) {
  auto b = DecodeXmlRpcResponse(
      "<methodResponse><params><param><value><boolean>1</boolean></value>"
      "</param></params></methodResponse>");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(*b->value.AsBool());
  auto a = DecodeXmlRpcResponse(
      "<methodResponse><params><param><value><array><data>"
      "<value><int>1</int></value><value><string>x</string></value>"
      "</data></array></value></param></params></methodResponse>");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(std::get<XmlRpcValue::Array>(a->value.v).size(), 2u);
  auto n = DecodeXmlRpcResponse(
      "<methodResponse><params><param><value><nil/></value></param>"
      "</params></methodResponse>");
  ASSERT_TRUE(n.ok()) << n.status().message();
}

TEST(XmlRpcTest, GarbageIsAnErrorNotACrash) {
  for (const char* bad :
       {"", "garbage", "<html><body>502 Bad Gateway</body></html>",
        "<methodResponse>",
        "<methodResponse><params><param><value><int>x"
        "</int></value></param></params></methodResponse>",
        "<methodResponse><fault><value><string>no</string></value></fault>"
        "</methodResponse>",
        "<methodResponse><params><param><value><struct><member><name>a"}) {
    EXPECT_FALSE(DecodeXmlRpcResponse(bad).ok()) << bad;
  }
  std::string deep = "<methodResponse><params><param>";
  for (int i = 0; i < 10000; ++i) deep += "<value><array><data>";
  EXPECT_FALSE(DecodeXmlRpcResponse(deep).ok());
}

}  // namespace
}  // namespace watchd
