// A configuration file someone other than root (or watchd's own user)
// could change is refused, whoever wrote what is in it: it names the
// commands watchd runs.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/loader.h"
#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::AllErrors;
using testing::HasError;
using testing::Pos;
using watchd::testing::TempDir;

constexpr char kService[] =
    "services:\n  web:\n    checks: {t: {tcp: {host: x, port: 1}}}\n";
constexpr char kFix[] = "chown root and chmod go-w";

class LoaderTrustTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& path, const std::string& text,
                    mode_t mode = 0644) {
    EXPECT_TRUE(watchd::testing::WriteFile(path, text)) << path;
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }
  std::string Dir(const std::string& name, mode_t mode) {
    std::string path = dir_.File(name);
    EXPECT_EQ(mkdir(path.c_str(), 0755), 0);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  TempDir dir_;
};

TEST_F(LoaderTrustTest, AFileOnlyItsOwnerWritesIsRead) {
  LoadResult r = LoadConfig(Write(dir_.File("watchd.yaml"), kService));
  EXPECT_TRUE(r.ok()) << AllErrors(r);
}

TEST_F(LoaderTrustTest, AGroupOrWorldWritableFileIsRefusedWithTheFix) {
  for (mode_t mode : {0664, 0646}) {
    const std::string path = Write(dir_.File("watchd.yaml"), kService, mode);
    LoadResult r = LoadConfig(path);
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
    EXPECT_EQ(r.errors[0].ToString().rfind("refusing " + path +
                                               ": it is writable by group or "
                                               "others; ",
                                           0),
              0u)
        << AllErrors(r);
    EXPECT_NE(r.errors[0].message.find(kFix), std::string::npos);
  }
}

// Whoever may rename entries of a directory may put another file there.
TEST_F(LoaderTrustTest, AFileInADirectoryOthersWriteIsRefused) {
  const std::string open_dir = Dir("open", 0777);
  LoadResult r = LoadConfig(Write(open_dir + "/watchd.yaml", kService));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("its directory " + open_dir +
                                     " is writable by group or others"),
            std::string::npos)
      << AllErrors(r);
}

// As /tmp: with the sticky bit, others cannot replace root's file.
TEST_F(LoaderTrustTest, AStickyDirectoryOthersWriteIsFine) {
  const std::string sticky = Dir("sticky", 01777);
  LoadResult r = LoadConfig(Write(sticky + "/watchd.yaml", kService));
  EXPECT_TRUE(r.ok()) << AllErrors(r);
}

TEST_F(LoaderTrustTest, AFileOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "giving a file away needs root";
  const std::string path = Write(dir_.File("watchd.yaml"), kService);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  LoadResult r = LoadConfig(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors[0].message.find("it is owned by"), std::string::npos)
      << AllErrors(r);
}

// An included file is held to the same rule; the error points at the
// include that named it, and the rest of the file is still read.
TEST_F(LoaderTrustTest, AnIncludedFileIsRefusedAtItsInclude) {
  const std::string main_text =
      "include: [extra.yaml]\nservices:\n  main:\n    checks: {t: {tcp: "
      "{host: x, port: 1}}}\n  broken: 3\n";
  const std::string main = Write(dir_.File("watchd.yaml"), main_text);
  Write(dir_.File("extra.yaml"), kService, 0666);
  LoadResult r = LoadConfig(main);
  EXPECT_TRUE(HasError(r, Pos(main_text, "extra.yaml", 1, main),
                       "refusing " + dir_.File("extra.yaml")));
  EXPECT_EQ(r.errors.size(), 2u) << AllErrors(r);
}

TEST_F(LoaderTrustTest, TheCheckCanBeTurnedOff) {
  LoadOptions options;
  options.check_trust = false;
  LoadResult r =
      LoadConfig(Write(dir_.File("watchd.yaml"), kService, 0666), options);
  EXPECT_TRUE(r.ok()) << AllErrors(r);
}

}  // namespace
}  // namespace watchd
