#include "config/host_port.h"

#include <gtest/gtest.h>

namespace watchd {
namespace {

TEST(HostPortTest, HostAndPort) {
  Result<HostPort> hp = ParseHostPort("127.0.0.1:9109", 0);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 9109);
  hp = ParseHostPort("[::1]:53", 0);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 53);
  hp = ParseHostPort("localhost:80", 0);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "localhost");
}

TEST(HostPortTest, DefaultPort) {
  Result<HostPort> hp = ParseHostPort("10.0.0.1", 53);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 53);
  hp = ParseHostPort("::1", 53);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 53);
  hp = ParseHostPort("[fe80::1]", 53);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "fe80::1");
}

TEST(HostPortTest, Errors) {
  EXPECT_FALSE(ParseHostPort("", 0).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1", 0).ok());
  EXPECT_FALSE(ParseHostPort(":9109", 0).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:", 0).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0", 0).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:65536", 0).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:http", 0).ok());
  EXPECT_FALSE(ParseHostPort("[::1", 0).ok());
  EXPECT_FALSE(ParseHostPort("[::1]x", 0).ok());
  EXPECT_FALSE(ParseHostPort("::1:53", 0).ok());
  EXPECT_NE(ParseHostPort("::1:53", 0).status().message().find("[addr]:port"),
            std::string::npos);
}

TEST(HostPortTest, IsIpAddress) {
  EXPECT_TRUE(IsIpAddress("127.0.0.1"));
  EXPECT_TRUE(IsIpAddress("::1"));
  EXPECT_TRUE(IsIpAddress("0.0.0.0"));
  EXPECT_FALSE(IsIpAddress("localhost"));
  EXPECT_FALSE(IsIpAddress("[::1]"));
  EXPECT_FALSE(IsIpAddress("1.2.3"));
}

}  // namespace
}  // namespace watchd
