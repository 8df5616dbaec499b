#include "daemon/preflight.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

TEST(PreflightTest, ReportsMissingAndNonExecutableCommandsWithTheirPlace) {
  testing::TempDir dir;
  const std::string plain = dir.File("not-executable.sh");
  ASSERT_TRUE(testing::WriteFile(plain, "#!/bin/sh\n"));
  LoadResult r = LoadConfigFromString(
      "supervisors:\n"
      "  bounce:\n"
      "    type: command\n"
      "    restart: [/no/such/bounce, '{program}']\n"
      "  sd:\n"
      "    type: systemd\n"
      "    systemctl: [watchd-no-such-systemctl]\n"
      "services:\n"
      "  web:\n"
      "    supervisor: bounce\n"
      "    checks:\n"
      "      ok: {exec: [/bin/true]}\n"
      "      script: {exec: [" +
          plain +
          "]}\n"
          "      named: {exec: [true]}\n",
      dir.File("w.yaml"));
  ASSERT_TRUE(r.ok()) << r.errors[0].ToString();
  std::vector<ConfigError> errors = Preflight(r.config);
  ASSERT_EQ(errors.size(), 3u);
  std::vector<std::string> text;
  for (const auto& e : errors) text.push_back(e.ToString());
  EXPECT_EQ(text[0], dir.File("w.yaml") +
                         ":2:3: supervisor bounce restart: /no/such/bounce: "
                         "No such file or directory");
  EXPECT_EQ(text[1], dir.File("w.yaml") +
                         ":5:3: supervisor sd: watchd-no-such-systemctl: not "
                         "found on PATH");
  EXPECT_EQ(text[2], dir.File("w.yaml") + ":13:7: check web/script: " + plain +
                         ": not executable");
}

}  // namespace
}  // namespace watchd
