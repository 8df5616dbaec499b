#include "config/config_diff.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace watchd {
namespace {

Config Load(const std::string& text) {
  LoadResult r = LoadConfigFromString(text, "/tmp/watchd.yaml",
                                      LoadOptions{.check_commands = false});
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.errors[0].ToString());
  return std::move(r.config);
}

constexpr char kBase[] = R"(
supervisors:
  sv: {type: command, restart: [/bin/true, "{program}"]}
notify:
  targets:
    hook: {webhook: {url: "http://127.0.0.1:9/hook"}}
    page: {command: [/bin/true, "{service}"]}
services:
  web:
    supervisor: sv
    checks:
      health: {http: {url: "http://127.0.0.1:8080/"}, interval: 5s}
      run: {exec: {command: [/bin/true]}}
)";

TEST(ConfigDiffTest, WhereADefinitionIsWrittenDoesNotMatter) {
  Config a = Load(kBase);
  Config b = Load(std::string("\n\n# moved down\n") + kBase);
  const ServiceConfig& sa = a.services[0];
  const ServiceConfig& sb = b.services[0];
  ASSERT_NE(sa.location.line, sb.location.line);
  EXPECT_TRUE(SameServiceSettings(sa, sb));
  for (size_t i = 0; i < sa.checks.size(); ++i) {
    EXPECT_TRUE(SameCheck(sa.checks[i], sb.checks[i])) << sa.checks[i].name;
  }
  EXPECT_TRUE(SameSupervisor(a.supervisors.at("sv"), b.supervisors.at("sv")));
  EXPECT_TRUE(SameNotifyTarget(a.notify.targets.at("page"),
                               b.notify.targets.at("page")));
}

TEST(ConfigDiffTest, AnyChangedValueIsAChange) {
  Config a = Load(kBase);
  std::string text = kBase;
  text.replace(text.find("interval: 5s"), 12, "interval: 6s");
  text.replace(text.find("/bin/true, \"{program}\""), 22,
               "/bin/false, \"{program}\"");
  text.replace(text.find("9/hook"), 6, "9/hook2");
  Config b = Load(text);
  EXPECT_FALSE(SameCheck(a.services[0].checks[0], b.services[0].checks[0]));
  EXPECT_TRUE(SameCheck(a.services[0].checks[1], b.services[0].checks[1]));
  EXPECT_FALSE(SameSupervisor(a.supervisors.at("sv"), b.supervisors.at("sv")));
  EXPECT_FALSE(SameNotifyTarget(a.notify.targets.at("hook"),
                                b.notify.targets.at("hook")));
  // The checks and the service's notify list are not its settings.
  EXPECT_TRUE(SameServiceSettings(a.services[0], b.services[0]));
}

TEST(ConfigDiffTest, ServiceSettingsCoverEveryOtherField) {
  Config a = Load(kBase);
  ServiceConfig changed = a.services[0];
  changed.notify = std::vector<std::string>{"hook"};
  changed.checks.clear();
  EXPECT_TRUE(SameServiceSettings(a.services[0], changed));
  changed.start_grace += std::chrono::seconds(1);
  EXPECT_FALSE(SameServiceSettings(a.services[0], changed));
  changed = a.services[0];
  changed.pidfile = "/run/web.pid";
  EXPECT_FALSE(SameServiceSettings(a.services[0], changed));
  changed = a.services[0];
  changed.restart_limit.max += 1;
  EXPECT_FALSE(SameServiceSettings(a.services[0], changed));
}

TEST(ConfigDiffTest, SameServiceIsEverythingButWhereItIsWritten) {
  Config a = Load(kBase);
  Config moved = Load(std::string("\n# moved down\n") + kBase);
  EXPECT_TRUE(SameService(a.services[0], moved.services[0]));
  ServiceConfig changed = a.services[0];
  changed.notify = std::vector<std::string>{"hook"};
  EXPECT_FALSE(SameService(a.services[0], changed)) << "notify";
  changed = a.services[0];
  std::swap(changed.checks[0], changed.checks[1]);
  EXPECT_FALSE(SameService(a.services[0], changed)) << "check order";
  changed = a.services[0];
  changed.checks.pop_back();
  EXPECT_FALSE(SameService(a.services[0], changed)) << "a check dropped";
  changed = a.services[0];
  changed.checks[1].interval += std::chrono::seconds(1);
  EXPECT_FALSE(SameService(a.services[0], changed)) << "a check changed";
  changed = a.services[0];
  changed.start_grace += std::chrono::seconds(1);
  EXPECT_FALSE(SameService(a.services[0], changed)) << "a setting";
}

}  // namespace
}  // namespace watchd
