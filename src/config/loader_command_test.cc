// Commands checked against this machine by LoadConfig: argv[0] of exec
// checks, command supervisors and systemctl must be runnable, and each one
// that is not is reported at its own place, with the file's other errors.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <optional>
#include <string>

#include "config/loader.h"
#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::AllErrors;
using testing::HasError;
using testing::Pos;

// Sets PATH for one test, restoring it after.
class ScopedPath {
 public:
  explicit ScopedPath(const std::string& path) {
    if (const char* old = getenv("PATH")) old_ = old;
    setenv("PATH", path.c_str(), 1);
  }
  ~ScopedPath() {
    if (old_) {
      setenv("PATH", old_->c_str(), 1);
    } else {
      unsetenv("PATH");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(LoaderCommandTest, EachUnrunnableCommandAtItsArgvZero) {
  watchd::testing::TempDir dir;
  const std::string plain = dir.File("not-executable.sh");
  ASSERT_TRUE(watchd::testing::WriteFile(plain, "#!/bin/sh\n"));
  const std::string text =
      "supervisors:\n"
      "  bounce:\n"
      "    type: command\n"
      "    restart: [/no/such/bounce, '{program}']\n"
      "    start: [/no/such/launch]\n"
      "  sd:\n"
      "    type: systemd\n"
      "    systemctl: [watchd-no-such-systemctl, --user]\n"
      "services:\n"
      "  web:\n"
      "    supervisor: bounce\n"
      "    checks:\n"
      "      ok: {exec: [/bin/true]}\n"
      "      script: {exec: [" +
      plain +
      "]}\n"
      "      named: {exec: [true]}\n"
      "      map: {exec: {command: [/no/such/check, -x]}}\n"
      "      dir: {exec: [/tmp]}\n";
  LoadResult r = LoadConfigFromString(text, "w.yaml");
  EXPECT_EQ(r.errors.size(), 6u) << AllErrors(r);
  EXPECT_TRUE(
      HasError(r, Pos(text, "/no/such/bounce"),
               "cannot run /no/such/bounce: No such file or directory"));
  EXPECT_TRUE(HasError(r, Pos(text, "/no/such/launch"),
                       "cannot run /no/such/launch: No such file"));
  EXPECT_TRUE(HasError(r, Pos(text, "watchd-no-such-systemctl"),
                       "cannot run watchd-no-such-systemctl: not found on "
                       "PATH"));
  EXPECT_TRUE(HasError(r, Pos(text, plain),
                       "cannot run " + plain + ": not executable"));
  EXPECT_TRUE(HasError(r, Pos(text, "/no/such/check"),
                       "cannot run /no/such/check: No such file"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "/tmp]"), "cannot run /tmp: not a regular file"));
}

TEST(LoaderCommandTest, ReportedInTheSamePassAsEveryOtherError) {
  const std::string text =
      "services:\n"
      "  web:\n"
      "    checks:\n"
      "      health:\n"
      "        exec: [/no/such/healthcheck]\n"
      "        interval: 10\n"
      "      port: {tcp: {host: 127.0.0.1, port: 99999}}\n";
  LoadResult r = LoadConfigFromString(text, "w.yaml");
  ASSERT_EQ(r.errors.size(), 3u) << AllErrors(r);
  // In file order: the command's place comes first.
  EXPECT_EQ(r.errors[0].ToString(),
            Pos(text, "/no/such/healthcheck") +
                ": cannot run /no/such/healthcheck: No such file or directory");
  EXPECT_EQ(r.errors[1].ToString(),
            Pos(text, "10\n") + ": duration needs a unit, e.g. 10s (got '10')");
  EXPECT_TRUE(HasError(r, Pos(text, "99999"), "from 1 to 65535"));
}

TEST(LoaderCommandTest, DefaultSystemctlIsCheckedWhereTheTypeImpliesIt) {
  watchd::testing::TempDir empty;
  ScopedPath path(empty.path());
  const std::string text =
      "supervisors:\n"
      "  sd: {type: systemd, timeout: 5s}\n"
      "  named: {systemctl: [/bin/true], type: systemd}\n";
  LoadResult r = LoadConfigFromString(text, "w.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            Pos(text, "systemd") + ": cannot run systemctl: not found on PATH");
}

TEST(LoaderCommandTest, NamesAreSearchedOnPath) {
  watchd::testing::TempDir bin;
  ASSERT_TRUE(
      watchd::testing::WriteFile(bin.File("my-check"), "#!/bin/sh\nexit 0\n"));
  ASSERT_EQ(chmod(bin.File("my-check").c_str(), 0755), 0);
  ScopedPath path(bin.path());
  const std::string text =
      "services: {a: {checks: {c: {exec: [my-check]}, d: {exec: [other]}}}}\n";
  LoadResult r = LoadConfigFromString(text, "w.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_TRUE(
      HasError(r, Pos(text, "other"), "cannot run other: not found on PATH"));
}

TEST(LoaderCommandTest, OffWhenOnlyTheFileIsJudged) {
  LoadResult r = LoadConfigFromString(
      "services: {a: {checks: {c: {exec: [/no/such/check]}}}}\n", "w.yaml",
      {.check_commands = false});
  EXPECT_TRUE(r.ok()) << AllErrors(r);
}

}  // namespace
}  // namespace watchd
