#include "metrics/listen_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace watchd {
namespace {

TEST(ListenAddressTest, ParsesAddresses) {
  Result<ListenAddress> v4 = ParseListenAddress("127.0.0.1:9109");
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_FALSE(v4->ipv6);
  EXPECT_EQ(v4->port, 9109);
  EXPECT_EQ(v4->ToCivetweb(), "127.0.0.1:9109");

  Result<ListenAddress> v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(v6->ToCivetweb(), "[::1]:0");

  Result<ListenAddress> local = ParseListenAddress("localhost:65535");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->ToCivetweb(), "127.0.0.1:65535");

  EXPECT_EQ(ParseListenAddress("0.0.0.0:9109")->ToCivetweb(), "0.0.0.0:9109");
}

TEST(ListenAddressTest, RefusesWhatCivetwebWouldMisread) {
  for (const char* text :
       {"", "9109", ":9109", "host", "example.org:80", "999.1.1.1:80",
        "1.2.3:80", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
        "127.0.0.1:80s", "127.0.0.1:80r", "+127.0.0.1:80", "::1:80",
        "[127.0.0.1]:80", "[::1:80", "127.0.0.1:80,127.0.0.1:81"}) {
    Result<ListenAddress> address = ParseListenAddress(text);
    EXPECT_FALSE(address.ok()) << text;
    if (!address.ok()) {
      EXPECT_NE(
          address.status().message().find(std::string("\"") + text + "\""),
          std::string::npos)
          << address.status().message();
    }
  }
}

TEST(ListenAddressTest, CheckBindableReportsAPortInUse) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  ListenAddress busy{"127.0.0.1", false, ntohs(addr.sin_port)};
  Status status = CheckBindable(busy);
  EXPECT_EQ(status.ToString(), "Address already in use");
  close(fd);
  EXPECT_TRUE(CheckBindable(busy).ok());

  // An address of no local interface.
  Status foreign = CheckBindable(ListenAddress{"192.0.2.1", false, 0});
  EXPECT_EQ(foreign.ToString(), "Cannot assign requested address");
}

}  // namespace
}  // namespace watchd
