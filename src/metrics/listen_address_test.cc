#include "metrics/listen_address.h"

#include <arpa/inet.h>
#include <fcntl.h>
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
  EXPECT_EQ(v4->ToString(), "127.0.0.1:9109");

  Result<ListenAddress> v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(v6->ToString(), "[::1]:0");

  Result<ListenAddress> local = ParseListenAddress("localhost:65535");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->ToString(), "127.0.0.1:65535");

  EXPECT_EQ(ParseListenAddress("0.0.0.0:9109")->ToString(), "0.0.0.0:9109");
}

TEST(ListenAddressTest, RefusesNamesAndMalformedAddresses) {
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

int BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  return ntohs(addr.ss_family == AF_INET6
                   ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

TEST(ListenAddressTest, OpenListenerListensOnV4AndV6) {
  for (const char* text : {"127.0.0.1:0", "[::1]:0"}) {
    Result<int> fd = OpenListener(*ParseListenAddress(text));
    ASSERT_TRUE(fd.ok()) << text << ": " << fd.status().ToString();
    int port = BoundPort(*fd);
    EXPECT_GT(port, 0);
    EXPECT_NE(fcntl(*fd, F_GETFD) & FD_CLOEXEC, 0);
    EXPECT_NE(fcntl(*fd, F_GETFL) & O_NONBLOCK, 0);
    // It accepts a connection.
    bool v6 = text[0] == '[';
    int client = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    sockaddr_storage to{};
    socklen_t to_len;
    if (v6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&to);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_addr = in6addr_loopback;
      sin6->sin6_port = htons(static_cast<uint16_t>(port));
      to_len = sizeof(*sin6);
    } else {
      auto* sin = reinterpret_cast<sockaddr_in*>(&to);
      sin->sin_family = AF_INET;
      sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      sin->sin_port = htons(static_cast<uint16_t>(port));
      to_len = sizeof(*sin);
    }
    EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&to), to_len), 0)
        << text;
    close(client);
    close(*fd);
  }
}

TEST(ListenAddressTest, OpenListenerReportsWhyItCannot) {
  Result<int> first = OpenListener(*ParseListenAddress("127.0.0.1:0"));
  ASSERT_TRUE(first.ok());
  ListenAddress busy{"127.0.0.1", false, BoundPort(*first)};
  Result<int> second = OpenListener(busy);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().ToString(), "Address already in use");
  close(*first);
  // SO_REUSEADDR: free again as soon as the listener is closed.
  Result<int> again = OpenListener(busy);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  close(*again);

  // An address of no local interface.
  Result<int> foreign = OpenListener(ListenAddress{"192.0.2.1", false, 0});
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.status().ToString(), "Cannot assign requested address");
}

}  // namespace
}  // namespace watchd
