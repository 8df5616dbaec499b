#include "os/safe_file.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::TempDir;
using testing::WriteFile;

std::string OpenError(const std::string& path) {
  struct stat st;
  auto fd = OpenRegularFile(path, "pidfile", &st);
  if (fd.ok()) {
    close(*fd);
    return "";
  }
  return fd.status().message();
}

TEST(SafeFileTest, RegularFileOpensAndIsStatted) {
  TempDir dir;
  const std::string p = dir.File("x.pid");
  ASSERT_TRUE(WriteFile(p, "42\n"));
  struct stat st;
  auto fd = OpenRegularFile(p, "pidfile", &st);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 3);
  close(*fd);
}

// A FIFO would block a plain open() until a writer came: the loop, and
// with it every check, would stop.
TEST(SafeFileTest, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  const std::string p = dir.File("x.pid");
  ASSERT_EQ(mkfifo(p.c_str(), 0600), 0);
  EXPECT_EQ(OpenError(p), "pidfile " + p + " is a FIFO, not a regular file");
}

TEST(SafeFileTest, OtherFileTypesAreNamed) {
  TempDir dir;
  EXPECT_EQ(OpenError(dir.path()),
            "pidfile " + dir.path() + " is a directory, not a regular file");
  EXPECT_EQ(OpenError("/dev/null"),
            "pidfile /dev/null is a character device, not a regular file");

  const std::string sock = dir.File("s");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  // A socket file cannot be opened at all; the error says so.
  EXPECT_NE(OpenError(sock).find("pidfile " + sock), std::string::npos);
  close(fd);

  const std::string missing = dir.File("missing.pid");
  EXPECT_EQ(OpenError(missing),
            "cannot read pidfile " + missing + ": No such file or directory");
}

TEST(SafeFileTest, SymlinkIsNotFollowed) {
  TempDir dir;
  const std::string target = dir.File("real.pid");
  const std::string link = dir.File("x.pid");
  ASSERT_TRUE(WriteFile(target, "1\n"));
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  EXPECT_EQ(OpenError(link),
            "pidfile " + link + " is a symbolic link; name the file itself");
}

TEST(SafeFileTest, UntrustedBecauseNamesOwnerModeAndDirectory) {
  TempDir dir;
  const std::string p = dir.File("x.pid");
  ASSERT_TRUE(WriteFile(p, "42\n"));
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(chmod(p.c_str(), 0644), 0);
  struct stat st;
  ASSERT_EQ(stat(p.c_str(), &st), 0);
  const uid_t me = geteuid();
  EXPECT_EQ(UntrustedBecause(p, st, me), "");

  st.st_uid = 65534;
  EXPECT_EQ(UntrustedBecause(p, st, me), "it is owned by uid 65534");
  st.st_uid = me;
  st.st_mode |= S_IWOTH;
  EXPECT_EQ(UntrustedBecause(p, st, me), "it is writable by group or others");
  st.st_mode &= ~S_IWOTH;

  ASSERT_EQ(chmod(dir.path().c_str(), 0777), 0);
  EXPECT_EQ(UntrustedBecause(p, st, me),
            "its directory " + dir.path() + " is writable by group or others");
  // The sticky bit keeps others from replacing an entry they do not own.
  ASSERT_EQ(chmod(dir.path().c_str(), 01777), 0);
  EXPECT_EQ(UntrustedBecause(p, st, me), "");
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);

  if (me == 0) {
    ASSERT_EQ(chown(dir.path().c_str(), 65534, 65534), 0);
    EXPECT_EQ(UntrustedBecause(p, st, me),
              "its directory " + dir.path() + " is owned by uid 65534");
    ASSERT_EQ(chown(dir.path().c_str(), 0, 0), 0);
  }
}

}  // namespace
}  // namespace watchd
