#include "net/socket_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

namespace watchd {
namespace {

bool IsOpen(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

// A listening socket on 127.0.0.1 and an ephemeral port.
class SocketPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(listener_, 0);
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener_, Addr(), sizeof(addr_)), 0);
    socklen_t len = sizeof(addr_);
    ASSERT_EQ(getsockname(listener_, reinterpret_cast<sockaddr*>(&addr_), &len),
              0);
    ASSERT_EQ(listen(listener_, 8), 0);
  }
  void TearDown() override { close(listener_); }

  const sockaddr* Addr() const {
    return reinterpret_cast<const sockaddr*>(&addr_);
  }
  // A client socket connected to the listener, and the server's end.
  std::pair<int, int> Connected(int fd = -1) {
    if (fd < 0) fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(fd, Addr(), sizeof(addr_)), 0) << strerror(errno);
    int server = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    EXPECT_GE(server, 0);
    return {fd, server};
  }

  int listener_ = -1;
  sockaddr_in addr_{};
};

TEST_F(SocketPoolTest, EmptyPoolHasNothingToGive) {
  SocketPool pool;
  EXPECT_EQ(pool.Take(AF_INET), -1);
  EXPECT_EQ(pool.Take(AF_INET6), -1);
}

TEST_F(SocketPoolTest, GivenSocketIsResetAndConnectsAgain) {
  SocketPool pool;
  auto [client, server] = Connected();
  pool.Give(client, AF_INET);
  EXPECT_EQ(pool.size(), 1u);
  // The server's end sees the reset at once.
  char byte;
  EXPECT_EQ(recv(server, &byte, 1, 0), -1);
  EXPECT_EQ(errno, ECONNRESET);
  close(server);

  EXPECT_EQ(pool.Take(AF_INET6), -1) << "kept per address family";
  int again = pool.Take(AF_INET);
  ASSERT_EQ(again, client);
  EXPECT_EQ(pool.size(), 0u);
  sockaddr_in peer{};
  socklen_t len = sizeof(peer);
  EXPECT_EQ(getpeername(again, reinterpret_cast<sockaddr*>(&peer), &len), -1);
  EXPECT_EQ(errno, ENOTCONN);

  auto [reused, server2] = Connected(again);
  ASSERT_EQ(send(reused, "x", 1, 0), 1);
  EXPECT_EQ(recv(server2, &byte, 1, 0), 1);
  EXPECT_EQ(byte, 'x');
  close(server2);
  close(reused);
}

TEST_F(SocketPoolTest, FullPoolClosesWhatItCannotKeep) {
  SocketPool pool(1);
  auto [a, server_a] = Connected();
  auto [b, server_b] = Connected();
  pool.Give(a, AF_INET);
  pool.Give(b, AF_INET);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_TRUE(IsOpen(a));
  EXPECT_FALSE(IsOpen(b));
  close(server_a);
  close(server_b);
}

TEST_F(SocketPoolTest, UnknownFamilyIsClosed) {
  SocketPool pool;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  pool.Give(fd, AF_UNIX);
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_FALSE(IsOpen(fd));
}

TEST_F(SocketPoolTest, DestructionClosesTheKeptSockets) {
  int fd;
  {
    SocketPool pool;
    auto [client, server] = Connected();
    fd = client;
    pool.Give(client, AF_INET);
    close(server);
    EXPECT_TRUE(IsOpen(fd));
  }
  EXPECT_FALSE(IsOpen(fd));
}

}  // namespace
}  // namespace watchd
