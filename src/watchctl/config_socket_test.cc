#include "watchctl/config_socket.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace watchd {
namespace {

TEST(DaemonBlockTest, TheBlockAndNothingAfterIt) {
  EXPECT_EQ(DaemonBlock("daemon:\n  control_socket: /a\nservices:\n  x: 1\n"),
            "daemon:\n  control_socket: /a\n");
  EXPECT_EQ(DaemonBlock("# c\nservices: {}\n\ndaemon:\n  # note\n\n"
                        "  metrics_listen: x\n  control_socket: /b\n"),
            "daemon:\n  # note\n\n  metrics_listen: x\n  control_socket: /b\n");
  EXPECT_EQ(DaemonBlock("daemon: {control_socket: /c}\nservices: {}\n"),
            "daemon: {control_socket: /c}\n");
  EXPECT_EQ(DaemonBlock("services:\n  daemon:\n    x: 1\n"), "");
  EXPECT_EQ(DaemonBlock(""), "");
}

class SocketFromConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/watchctl-config-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/watchd.yaml";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text) { std::ofstream(path_) << text; }
  std::string dir_, path_;
};

TEST_F(SocketFromConfigTest, ReadsTheDaemonBlockOnly) {
  // The services after it are not YAML watchctl could read: it never does.
  Write("daemon:\n  control_socket: /run/x.sock\nservices:\n  web: [\n");
  Result<std::string> r = SocketFromConfig(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "/run/x.sock");
}

TEST_F(SocketFromConfigTest, ABlockThatDoesNotStandAloneIsReadWhole) {
  Write(
      "sockets:\n  main: &s /run/alias.sock\n"
      "daemon:\n  control_socket: *s\n");
  Result<std::string> r = SocketFromConfig(path_);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "/run/alias.sock");
}

TEST_F(SocketFromConfigTest, NoneNamedErrorsAndFifos) {
  Write("services: {}\n");
  EXPECT_EQ(*SocketFromConfig(path_), "");
  Write("{daemon: {control_socket: /flow.sock}}\n");
  EXPECT_EQ(*SocketFromConfig(path_), "/flow.sock");
  Write("daemon: [\n");
  Result<std::string> bad = SocketFromConfig(path_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path_), std::string::npos);
  EXPECT_FALSE(SocketFromConfig(dir_ + "/missing.yaml").ok());
  const std::string fifo = dir_ + "/fifo.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Result<std::string> f = SocketFromConfig(fifo);
  unlink(fifo.c_str());
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace watchd
