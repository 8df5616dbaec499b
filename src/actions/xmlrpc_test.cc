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

TEST(XmlRpcTest, EncodesAMulticall) {
  std::string call = EncodeXmlRpcMulticall(
      {{"supervisor.getProcessInfo", {std::string("web")}},
       {"supervisor.getProcessInfo", {std::string("a&b")}}});
  EXPECT_NE(call.find("<methodName>system.multicall</methodName>"),
            std::string::npos);
  const std::string one =
      "<value><struct><member><name>methodName</name><value><string>"
      "supervisor.getProcessInfo</string></value></member><member><name>"
      "params</name><value><array><data><value><string>web</string></value>"
      "</data></array></value></member></struct></value>";
  EXPECT_NE(call.find(one), std::string::npos) << call;
  EXPECT_NE(call.find("<string>a&amp;b</string>"), std::string::npos);
}

TEST(XmlRpcTest, DecodesMulticallResults) {
  // supervisord's results are bare values; the convention wraps each in an
  // array of one.
  auto r = DecodeXmlRpcResponse(
      "<methodResponse><params><param><value><array><data>"
      "<value><struct><member><name>pid</name><value><int>7</int></value>"
      "</member></struct></value>"
      "<value><struct><member><name>faultCode</name><value><int>10</int>"
      "</value></member><member><name>faultString</name><value><string>"
      "BAD_NAME: x</string></value></member></struct></value>"
      "<value><array><data><value><struct><member><name>pid</name><value>"
      "<int>8</int></value></member></struct></value></data></array></value>"
      "</data></array></value></param></params></methodResponse>");
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto results = DecodeXmlRpcMulticall(r->value, 3);
  ASSERT_TRUE(results.ok()) << results.status().message();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_FALSE((*results)[0].is_fault);
  EXPECT_EQ(*(*results)[0].value.Member("pid")->AsInt(), 7);
  EXPECT_TRUE((*results)[1].is_fault);
  EXPECT_EQ((*results)[1].fault.code, 10);
  EXPECT_EQ((*results)[1].fault.message, "BAD_NAME: x");
  EXPECT_FALSE((*results)[2].is_fault);
  EXPECT_EQ(*(*results)[2].value.Member("pid")->AsInt(), 8);

  EXPECT_EQ(DecodeXmlRpcMulticall(r->value, 2).status().message(),
            "system.multicall answered 3 results to 2 calls");
  XmlRpcValue not_array;
  not_array.v = std::string("x");
  EXPECT_FALSE(DecodeXmlRpcMulticall(not_array, 1).ok());
  XmlRpcValue bad_fault;
  XmlRpcValue::Struct fault;
  fault["faultCode"].v = std::string("ten");
  XmlRpcValue item;
  item.v = fault;
  bad_fault.v = XmlRpcValue::Array{item};
  EXPECT_FALSE(DecodeXmlRpcMulticall(bad_fault, 1).ok());
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
