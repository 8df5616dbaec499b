// Errors of LoadConfig: each kind with its exact place and message. Places
// are named by the text found there (Pos), and pinned by hand where the
// place is the point.
#include "config/loader.h"

#include <gtest/gtest.h>

#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::AllErrors;
using testing::HasError;
using testing::Pos;

// What a file says, whatever this machine has installed: its commands are
// checked in loader_command_test.cc.
LoadResult Load(const std::string& text) {
  return LoadConfigFromString(text, "w.yaml", {.check_commands = false});
}

TEST(LoaderTest, EmptyFileIsAllDefaults) {
  for (std::string text : {"", "# nothing yet\n", "---\n"}) {
    LoadResult r = Load(text);
    ASSERT_TRUE(r.ok()) << AllErrors(r);
    EXPECT_TRUE(r.config.services.empty());
    EXPECT_TRUE(r.config.supervisors.empty());
    EXPECT_EQ(r.config.daemon.control_socket, "/run/watchd/control.sock");
    EXPECT_EQ(r.config.daemon.metrics_listen, "127.0.0.1:9109");
    EXPECT_EQ(r.config.daemon.log_level, LogLevel::kInfo);
    EXPECT_EQ(r.config.files, std::vector<std::string>{"w.yaml"});
  }
}

TEST(LoaderTest, ErrorToString) {
  ConfigError e{SourceLocation{"a.yaml", 3, 7}, "bad"};
  EXPECT_EQ(e.ToString(), "a.yaml:3:7: bad");
  EXPECT_EQ((ConfigError{SourceLocation{"a.yaml", 0, 0}, "bad"}).ToString(),
            "a.yaml: bad");
  EXPECT_EQ((ConfigError{SourceLocation{}, "bad"}).ToString(), "bad");
}

TEST(LoaderTest, UnknownKeyWithSuggestion) {
  LoadResult r = Load(
      "services:\n"
      "  web:\n"
      "    checks:\n"
      "      h:\n"
      "        tcp: {host: localhost, port: 80}\n"
      "        intervall: 5s\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:6:9: unknown key 'intervall' (did you mean 'interval'?)");
}

TEST(LoaderTest, UnknownKeysEverywhere) {
  const std::string text =
      "servics: {}\n"
      "daemon: {log_levle: info}\n"
      "defaults: {timout: 1s}\n"
      "supervisors: {s: {type: systemd, tyme: 1}}\n"
      "services:\n"
      "  a:\n"
      "    pidfiel: /x\n"
      "    restart_limit: {maxx: 3}\n"
      "    checks:\n"
      "      c: {http: {url: 'http://x/', methd: GET}}\n"
      "      d: {tcp: {host: h, port: 1, sned: x}}\n"
      "      e: {dns: {name: x, tpye: A}}\n"
      "      i: {exec: {comand: [x]}}\n"
      "  b:\n"
      "    pidfile: /b.pid\n"
      "    checks:\n"
      "      f: {memory: {rss_max: 1MiB, include_child: true}}\n"
      "      g: {process: {pid: 1}}\n";
  LoadResult r = Load(text);
  auto expect = [&](std::string_view needle, std::string_view message) {
    EXPECT_TRUE(HasError(r, Pos(text, needle), message));
  };
  expect("servics", "unknown key 'servics' (did you mean 'services'?)");
  expect("log_levle", "unknown key 'log_levle' (did you mean 'log_level'?)");
  expect("timout", "unknown key 'timout' (did you mean 'timeout'?)");
  expect("tyme", "unknown key 'tyme' (did you mean 'type'?)");
  expect("pidfiel", "unknown key 'pidfiel' (did you mean 'pidfile'?)");
  expect("maxx", "unknown key 'maxx' (did you mean 'max'?)");
  expect("methd", "unknown key 'methd' (did you mean 'method'?)");
  expect("sned", "unknown key 'sned' (did you mean 'send'?)");
  expect("tpye", "unknown key 'tpye' (did you mean 'type'?)");
  expect("comand", "unknown key 'comand' (did you mean 'command'?)");
  expect("{comand", "missing required key 'command' for the exec probe");
  expect("include_child",
         "unknown key 'include_child' (did you mean 'include_children'?)");
  expect("pid:", "unknown key 'pid'");
  EXPECT_EQ(r.errors.size(), 13u) << AllErrors(r);
}

TEST(LoaderTest, WrongTypes) {
  const std::string text =
      "daemon: [a]\n"
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      c:\n"
      "        tcp: {host: [h], port: eighty}\n"
      "        interval: {s: 1}\n"
      "        failures: two\n"
      "        on_failure: [restart]\n"
      "  b: just a string\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, "w.yaml:1:9", "expected a map, found a list"));
  EXPECT_TRUE(HasError(r, Pos(text, "[h]"), "expected a string, found a list"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "eighty"), "expected an integer, found 'eighty'"));
  EXPECT_TRUE(HasError(r, Pos(text, "{s: 1}"),
                       "expected a duration string like 10s, found a map"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "two"), "expected an integer, found 'two'"));
  EXPECT_TRUE(HasError(r, Pos(text, "[restart]"),
                       "expected alert or restart, found a list"));
  EXPECT_TRUE(HasError(r, Pos(text, "just"), "expected a map, found a scalar"));
  EXPECT_EQ(r.errors.size(), 7u) << AllErrors(r);
}

TEST(LoaderTest, TopLevelMustBeAMap) {
  LoadResult r = Load("- a\n- b\n");
  EXPECT_TRUE(HasError(r, "w.yaml:1:1", "expected a map of daemon, include"));
  r = Load("just text\n");
  EXPECT_TRUE(HasError(r, "w.yaml:1:1", "expected a map"));
}

TEST(LoaderTest, BadDurations) {
  const std::string text =
      "defaults:\n"
      "  interval: 10\n"
      "  timeout: 2 s\n"
      "  start_grace: -1s\n"
      "  stop_timeout: 0s\n"
      "services:\n"
      "  a:\n"
      "    restart_limit: {within: 10 minutes}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, "w.yaml:2:13", "duration needs a unit, e.g. 10s"));
  EXPECT_TRUE(HasError(r, Pos(text, "2 s"), "invalid duration '2 s'"));
  EXPECT_TRUE(HasError(r, Pos(text, "-1s"), "must not be negative"));
  EXPECT_TRUE(HasError(r, Pos(text, "0s"), "must be longer than 0s"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "10 minutes"), "invalid duration '10 minutes'"));
  EXPECT_EQ(r.errors.size(), 5u) << AllErrors(r);
}

TEST(LoaderTest, BadSizes) {
  const std::string text =
      "services:\n"
      "  a:\n"
      "    pidfile: /run/a.pid\n"
      "    checks:\n"
      "      m: {memory: {rss_max: 12XB}}\n"
      "      n: {memory: {rss_max: 0}}\n"
      "      h: {http: {url: 'http://x/', max_body: 1GiB}}\n"
      "      i: {http: {url: 'http://x/', max_body: [1]}}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(
      HasError(r, Pos(text, "12XB"), "invalid size '12XB': unknown unit 'XB'"));
  EXPECT_TRUE(HasError(r, Pos(text, "0}"), "rss_max must be more than 0"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "1GiB"), "max_body must be from 1 byte to 64MiB"));
  EXPECT_TRUE(HasError(r, Pos(text, "[1]"),
                       "expected a size like 64MiB, found a list"));
  EXPECT_EQ(r.errors.size(), 4u) << AllErrors(r);
}

TEST(LoaderTest, MissingRequiredKeysPointAtTheMap) {
  const std::string text =
      "supervisors:\n"
      "  a: {url: 'unix:///x'}\n"
      "  b:\n"
      "    type: supervisord\n"
      "  c: {type: command}\n"
      "  d:\n"
      "services:\n"
      "  s:\n"
      "    pidfile: /s.pid\n"
      "    checks:\n"
      "      h:\n"
      "        http:\n"
      "          method: GET\n"
      "      t: {tcp: {host: x}}\n"
      "      d: {dns: {}}\n"
      "      m: {memory: }\n"
      "      nothing:\n"
      "        interval: 5s\n"
      "      empty:\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, Pos(text, "{url"), "missing required key 'type'"));
  // A block map starts at its first key.
  EXPECT_TRUE(HasError(r, Pos(text, "type: supervisord"),
                       "missing required key 'url' for type supervisord"));
  EXPECT_TRUE(HasError(r, Pos(text, "{type: command"),
                       "missing required key 'restart' for type command"));
  // An empty map is placed at its key.
  EXPECT_TRUE(HasError(r, Pos(text, "d:"), "missing required key 'type'"));
  EXPECT_TRUE(HasError(r, Pos(text, "method"),
                       "missing required key 'url' for the http probe"));
  EXPECT_TRUE(HasError(r, Pos(text, "{host: x}"),
                       "missing required key 'port' for the tcp probe"));
  EXPECT_TRUE(HasError(r, Pos(text, "{}"),
                       "missing required key 'name' for the dns probe"));
  // A null value is placed at its key.
  EXPECT_TRUE(HasError(r, Pos(text, "memory"),
                       "missing required key 'rss_max' for the memory probe"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "interval: 5s"), "check 'nothing' has no probe"));
  EXPECT_TRUE(HasError(r, Pos(text, "empty"), "check 'empty' has no probe"));
  EXPECT_EQ(r.errors.size(), 10u) << AllErrors(r);
}

TEST(LoaderTest, CheckWithTwoProbes) {
  LoadResult r = Load(
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      c:\n"
      "        tcp: {host: x, port: 1}\n"
      "        http: {url: 'http://x/'}\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(
      r.errors[0].ToString(),
      "w.yaml:6:9: a check has exactly one probe: 'http' comes after 'tcp'");
}

TEST(LoaderTest, DanglingSupervisorAndDependency) {
  const std::string text =
      "supervisors:\n"
      "  main: {type: systemd}\n"
      "services:\n"
      "  web:\n"
      "    supervisor: mian\n"
      "    depends_on: [redis, db]\n"
      "  rediss: {}\n"
      "  other:\n"
      "    depends_on: web\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 3u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:5:17: unknown supervisor 'mian' (did you mean 'main'?)");
  EXPECT_EQ(r.errors[1].ToString(),
            "w.yaml:6:18: unknown service 'redis' in depends_on (did you mean "
            "'rediss'?)");
  EXPECT_EQ(r.errors[2].ToString(),
            "w.yaml:6:25: unknown service 'db' in depends_on");
  EXPECT_EQ(r.config.services[2].depends_on, std::vector<std::string>{"web"});
}

TEST(LoaderTest, SupervisorWhenNoneAreDefined) {
  LoadResult r = Load("services:\n  web: {supervisor: main}\n");
  EXPECT_TRUE(
      HasError(r, "w.yaml:2:21",
               "unknown supervisor 'main': no supervisors are defined"));
}

TEST(LoaderTest, RestartNeedsASupervisor) {
  LoadResult r = Load(
      "services:\n"
      "  api:\n"
      "    checks:\n"
      "      ping:\n"
      "        tcp: {host: x, port: 1}\n"
      "        on_failure: restart\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:6:21: on_failure: restart needs a supervisor, and this "
            "service has none");
}

TEST(LoaderTest, RestartFromDefaultsFallsBackToAlertWithoutSupervisor) {
  LoadResult r = Load(
      "defaults: {on_failure: restart}\n"
      "supervisors: {sd: {type: systemd}}\n"
      "services:\n"
      "  api:\n"
      "    checks: {ping: {tcp: {host: x, port: 1}}}\n"
      "  web:\n"
      "    supervisor: sd\n"
      "    checks: {ping: {tcp: {host: x, port: 1}}}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.services[0].checks[0].on_failure, OnFailure::kAlert);
  EXPECT_EQ(r.config.services[1].checks[0].on_failure, OnFailure::kRestart);
}

TEST(LoaderTest, DependencyCycles) {
  LoadResult r = Load(
      "services:\n"
      "  a: {depends_on: [b]}\n"
      "  b: {depends_on: [c]}\n"
      "  c: {depends_on: [a]}\n"
      "  d: {depends_on: [d]}\n"
      "  e: {depends_on: [a]}\n");
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:2:20: dependency cycle: a -> b -> c -> a");
  EXPECT_EQ(r.errors[1].ToString(), "w.yaml:5:20: dependency cycle: d -> d");
}

TEST(LoaderTest, CycleIsNamedFromItsFirstService) {
  LoadResult r = Load(
      "services:\n"
      "  x: {depends_on: [b]}\n"
      "  a: {depends_on: [c, b]}\n"
      "  b: {depends_on: [a]}\n"
      "  c: {}\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            "w.yaml:3:23: dependency cycle: a -> b -> a");
}

TEST(LoaderTest, LongDependencyChainIsFine) {
  std::string text = "services:\n";
  for (int i = 0; i < 20000; ++i) {
    text += "  s" + std::to_string(i) + ": {depends_on: [s" +
            std::to_string(i + 1) + "]}\n";
  }
  text += "  s20000: {depends_on: [s0]}\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_TRUE(
      HasError(r, "w.yaml:2:21", "dependency cycle: s0 -> s1 -> s2 -> "));
  EXPECT_NE(r.errors[0].message.find("s19999 -> s20000 -> s0"),
            std::string::npos);
}

TEST(LoaderTest, DuplicateKeysInOneMap) {
  const std::string text =
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      c:\n"
      "        tcp: {host: x, port: 1, port: 2}\n"
      "        interval: 5s\n"
      "        interval: 6s\n"
      "      c: {tcp: {host: x, port: 1}}\n"
      "  a: {}\n"
      "daemon: {}\n"
      "daemon: {}\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 5u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(), Pos(text, "port", 2) +
                                        ": duplicate key 'port' (first at " +
                                        Pos(text, "port", 1) + ")");
  EXPECT_EQ(r.errors[1].ToString(),
            "w.yaml:7:9: duplicate key 'interval' (first at w.yaml:6:9)");
  EXPECT_EQ(r.errors[2].ToString(),
            "w.yaml:8:7: duplicate name 'c' (first at w.yaml:4:7)");
  EXPECT_EQ(r.errors[3].ToString(),
            "w.yaml:9:3: duplicate service 'a' (first defined at w.yaml:2:3)");
  EXPECT_EQ(r.errors[4].ToString(),
            "w.yaml:11:1: duplicate key 'daemon' (first at w.yaml:10:1)");
  EXPECT_EQ(r.config.services.size(), 1u);
}

TEST(LoaderTest, DuplicateHeaderAndSupervisor) {
  const std::string text =
      "supervisors:\n"
      "  s: {type: systemd}\n"
      "  s: {type: systemd}\n"
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      h: {http: {url: 'http://x/', headers: {X-A: 1, X-A: 2}}}\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_EQ(
      r.errors[0].ToString(),
      "w.yaml:3:3: duplicate supervisor 's' (first defined at w.yaml:2:3)");
  EXPECT_EQ(r.errors[1].ToString(), Pos(text, "X-A", 2) +
                                        ": duplicate name 'X-A' (first at " +
                                        Pos(text, "X-A", 1) + ")");
}

TEST(LoaderTest, YamlSyntaxError) {
  LoadResult r = Load(
      "services:\n"
      "  a:\n"
      "    checks: {c: {tcp: {host: x, port: 1}}\n"
      "  b: {}\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(), "w.yaml:4:3: end of map flow not found");
  r = Load("a: 'unterminated\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_TRUE(r.errors[0].ToString().starts_with("w.yaml:")) << AllErrors(r);
  r = Load("services:\n\t- x\n");
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_TRUE(r.errors[0].ToString().starts_with("w.yaml:2:")) << AllErrors(r);
}

TEST(LoaderTest, TimeoutLongerThanInterval) {
  const std::string text =
      "defaults: {interval: 10s, timeout: 3s}\n"
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      fast: {tcp: {host: x, port: 1}, interval: 1s}\n"
      "      slow: {tcp: {host: x, port: 1}, timeout: 20s}\n"
      "      both: {tcp: {host: x, port: 1}, interval: 2s, timeout: 2500ms}\n"
      "      equal: {tcp: {host: x, port: 1}, interval: 3s}\n";
  LoadResult r = Load(text);
  // Only timeouts written on the check itself are errors; `fast` inherits
  // 3s and is capped at its 1s interval.
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_TRUE(HasError(r, Pos(text, "20s"),
                       "timeout 20s is longer than the interval 10s: runs of "
                       "the probe would overlap"));
  EXPECT_TRUE(HasError(r, Pos(text, "2500ms"),
                       "timeout 2s500ms is longer than the interval 2s"));
  r = Load(
      "defaults: {interval: 1s}\n"
      "services:\n  a:\n    checks:\n      c: {exec: [/bin/true]}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.services[0].checks[0].timeout, std::chrono::seconds(1));
  r = Load(
      "services:\n  a:\n    checks:\n"
      "      fast: {exec: [/bin/true], interval: 250ms}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.services[0].checks[0].timeout,
            std::chrono::milliseconds(250));
  r = Load("defaults: {interval: 1s, timeout: 2s}\n");
  EXPECT_TRUE(HasError(r, Pos("defaults: {interval: 1s, timeout: 2s}", "2s}"),
                       "timeout 2s is longer than the interval 1s"));
}

TEST(LoaderTest, ThresholdsAndJitter) {
  const std::string text =
      "defaults:\n"
      "  failures: 0\n"
      "  successes: -1\n"
      "  jitter: 150%\n"
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      c: {tcp: {host: x, port: 70000}, jitter: 1.5}\n"
      "      d: {tcp: {host: x, port: 0}, jitter: abc}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, "w.yaml:2:13", "must be from 1 to 1000000, not 0"));
  EXPECT_TRUE(HasError(r, "w.yaml:3:14", "must be from 1 to 1000000, not -1"));
  EXPECT_TRUE(HasError(r, "w.yaml:4:11", "invalid jitter '150%'"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "70000"), "must be from 1 to 65535, not 70000"));
  EXPECT_TRUE(HasError(r, Pos(text, "1.5"), "invalid jitter '1.5'"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "0}", 2), "must be from 1 to 65535, not 0"));
  EXPECT_TRUE(HasError(r, Pos(text, "abc"), "invalid jitter 'abc'"));
  EXPECT_EQ(r.errors.size(), 7u) << AllErrors(r);
}

TEST(LoaderTest, DaemonSettings) {
  LoadResult r = Load(
      "daemon:\n"
      "  control_socket: /tmp/w.sock\n"
      "  state_file: /tmp/w.json\n"
      "  metrics_listen: '[::1]:9200'\n"
      "  log_level: debug\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(r.config.daemon.control_socket, "/tmp/w.sock");
  EXPECT_EQ(r.config.daemon.state_file, "/tmp/w.json");
  EXPECT_EQ(r.config.daemon.metrics_listen, "[::1]:9200");
  EXPECT_EQ(r.config.daemon.log_level, LogLevel::kDebug);
  for (std::string off : {"''", "\"\"", ""}) {
    r = Load("daemon: {metrics_listen: " + off + "}\n");
    ASSERT_TRUE(r.ok()) << off << AllErrors(r);
    EXPECT_EQ(r.config.daemon.metrics_listen, "") << off;
  }
  r = Load("daemon: {metrics_listen: 0.0.0.0:80}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
}

TEST(LoaderTest, BadDaemonSettings) {
  LoadResult r = Load(
      "daemon:\n"
      "  control_socket: /" +
      std::string(120, 'x') +
      "\n"
      "  state_file: [a]\n"
      "  metrics_listen: localhost:9109\n"
      "  log_level: verbose\n");
  ASSERT_EQ(r.errors.size(), 4u) << AllErrors(r);
  EXPECT_EQ(
      r.errors[0].ToString(),
      "w.yaml:2:19: control_socket path is longer than 107 bytes, the limit "
      "for a unix socket");
  EXPECT_EQ(r.errors[1].ToString().rfind("w.yaml:3:15: ", 0), 0u)
      << r.errors[1].ToString();
  EXPECT_EQ(
      r.errors[2].ToString(),
      "w.yaml:4:19: invalid metrics_listen 'localhost:9109': expected IP:port "
      "like 127.0.0.1:9109 or [::1]:9109, or \"\" for off");
  EXPECT_EQ(
      r.errors[3].ToString(),
      "w.yaml:5:14: invalid value 'verbose': expected trace, debug, info, "
      "warn or error");
  // "" turns the state file off.
  LoadResult off = Load("daemon:\n  state_file: ''\n");
  ASSERT_TRUE(off.ok()) << AllErrors(off);
  EXPECT_EQ(off.config.daemon.state_file, "");
  for (std::string bad :
       {"9109", ":9109", "127.0.0.1", "127.0.0.1:99999", "::1:9109"}) {
    r = Load("daemon: {metrics_listen: '" + bad + "'}\n");
    EXPECT_TRUE(HasError(r, "w.yaml:1:26", "invalid metrics_listen")) << bad;
  }
}

TEST(LoaderTest, EnumSuggestions) {
  const std::string text =
      "supervisors: {s: {type: supervisor, url: 'unix:///x'}}\n"
      "services:\n"
      "  a:\n"
      "    supervisor: s\n"
      "    restart_limit: {then: unmonitored}\n"
      "    checks: {c: {tcp: {host: x, port: 1}, on_failure: restrat},\n"
      "             d: {dns: {name: x, type: aaaa}}}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(
      HasError(r, Pos(text, "supervisor,"),
               "invalid value 'supervisor': expected supervisord, systemd "
               "or command (did you mean 'supervisord'?)"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "unmonitored"),
               "invalid value 'unmonitored': expected unmonitor or alert "
               "(did you mean 'unmonitor'?)"));
  EXPECT_TRUE(HasError(r, Pos(text, "restrat"), "(did you mean 'restart'?)"));
  EXPECT_TRUE(HasError(r, Pos(text, "aaaa"), "(did you mean 'AAAA'?)"));
  EXPECT_EQ(r.errors.size(), 4u) << AllErrors(r);
}

TEST(LoaderTest, Supervisors) {
  LoadResult r = Load(
      "supervisors:\n"
      "  a: {type: supervisord, url: 'unix:///run/supervisor.sock'}\n"
      "  b: {type: supervisord, url: 'http://127.0.0.1:9001'}\n"
      "  c: {type: systemd, timeout: 5s, systemctl: [systemctl, --user]}\n"
      "  d:\n"
      "    type: command\n"
      "    restart: [/bin/bounce, '{program}', --pid, '{pid}', '{service}']\n"
      "    start: [/bin/start, '{program}']\n"
      "  e: {type: supervisord, url: 'http://user:secret@127.0.0.1:9001/'}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  ASSERT_EQ(r.config.supervisors.size(), 5u);
  EXPECT_EQ(r.config.supervisors["a"].type, SupervisorType::kSupervisord);
  EXPECT_EQ(r.config.supervisors["a"].url, "unix:///run/supervisor.sock");
  EXPECT_EQ(r.config.supervisors["b"].url, "http://127.0.0.1:9001");
  EXPECT_EQ(r.config.supervisors["c"].type, SupervisorType::kSystemd);
  EXPECT_EQ(r.config.supervisors["c"].timeout, std::chrono::seconds(5));
  EXPECT_EQ(r.config.supervisors["c"].systemctl,
            (std::vector<std::string>{"systemctl", "--user"}));
  EXPECT_EQ(r.config.supervisors["a"].systemctl,
            std::vector<std::string>{"systemctl"});
  const SupervisorConfig& d = r.config.supervisors["d"];
  EXPECT_EQ(d.type, SupervisorType::kCommand);
  EXPECT_EQ(d.restart,
            (std::vector<std::string>{"/bin/bounce", "{program}", "--pid",
                                      "{pid}", "{service}"}));
  EXPECT_EQ(d.start, (std::vector<std::string>{"/bin/start", "{program}"}));
  EXPECT_EQ(d.timeout, std::chrono::seconds(30));
  EXPECT_EQ(d.name, "d");
  EXPECT_EQ(d.location.line, 5);
  EXPECT_EQ(d.location.column, 3);
}

TEST(LoaderTest, BadSupervisors) {
  const std::string text =
      "supervisors:\n"
      "  a: {type: supervisord, url: 'http://127.0.0.1'}\n"
      "  b: {type: supervisord, url: 'unix://relative.sock'}\n"
      "  c: {type: systemd, url: 'unix:///x', restart: [x]}\n"
      "  d: {type: command, restart: []}\n"
      "  e: {type: command, restart: [/bin/x, '--name={program}']}\n"
      "  f: {type: command, restart: [/bin/x, '{programm}']}\n"
      "  g: {type: command, restart: '/bin/x {program}'}\n"
      "  h: {type: command, restart: ['', x]}\n"
      "  'bad name': {type: systemd}\n"
      "  i: {type: command, restart: [x], systemctl: [y]}\n"
      "  j: {type: systemd, systemctl: []}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(
      HasError(r, Pos(text, "'http://127"), "invalid url 'http://127.0.0.1'"));
  EXPECT_TRUE(HasError(r, Pos(text, "'unix://rel"),
                       "invalid url 'unix://relative.sock'"));
  EXPECT_TRUE(HasError(r, Pos(text, "url", 3),
                       "'url' applies only to type supervisord"));
  EXPECT_TRUE(HasError(r, Pos(text, "restart"),
                       "'restart' applies only to type command"));
  EXPECT_TRUE(HasError(r, Pos(text, "[]"), "the command must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "'--name"),
                       "'{program}' replaces whole arguments only"));
  EXPECT_TRUE(HasError(r, Pos(text, "'{programm}'"),
                       "unknown placeholder '{programm}': use {program}, "
                       "{service} or {pid} (did you mean '{program}'?)"));
  EXPECT_TRUE(HasError(r, Pos(text, "'/bin/x {"),
                       "expected a command as a list of arguments"));
  EXPECT_TRUE(HasError(r, Pos(text, "''"), "must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "'bad name'"),
                       "invalid supervisor name 'bad name'"));
  EXPECT_TRUE(HasError(r, Pos(text, "systemctl"),
                       "'systemctl' applies only to type systemd"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "[]}", 2), "the command must not be empty"));
  EXPECT_EQ(r.errors.size(), 12u) << AllErrors(r);
}

TEST(LoaderTest, ProcessChecksNeedAPidSource) {
  const std::string text =
      "supervisors:\n"
      "  sd: {type: systemd}\n"
      "  cmd: {type: command, restart: [/bin/x]}\n"
      "services:\n"
      "  a: {checks: {p: {process: {}}}}\n"
      "  b: {supervisor: cmd, checks: {m: {memory: {rss_max: 1GiB}}}}\n"
      "  c: {supervisor: sd, checks: {p: {process: ~}}}\n"
      "  d: {supervisor: cmd, pidfile: /run/d.pid, checks: {p: {process: }}}\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_EQ(
      r.errors[0].ToString(),
      Pos(text, "p:") +
          ": a process check needs the service's pid: set pidfile, or use "
          "a supervisord or systemd supervisor");
  EXPECT_TRUE(
      HasError(r, Pos(text, "m:"), "a memory check needs the service's pid"));
}

TEST(LoaderTest, RecoverSupervisorGiveUpNeedsAGivingUpSupervisor) {
  const std::string text =
      "supervisors:\n"
      "  sd: {type: systemd}\n"
      "  cmd: {type: command, restart: [/bin/x]}\n"
      "services:\n"
      "  a: {supervisor: sd, recover_supervisor_giveup: true}\n"
      "  b: {supervisor: sd}\n"
      "  c: {recover_supervisor_giveup: yes}\n"
      "  d: {supervisor: cmd, recover_supervisor_giveup: on}\n"
      "  e: {supervisor: cmd, recover_supervisor_giveup: false}\n"
      "  f: {supervisor: sd, recover_supervisor_giveup: sometimes}\n";
  LoadResult r = Load(text);
  EXPECT_EQ(r.errors.size(), 3u) << AllErrors(r);
  EXPECT_TRUE(HasError(r, Pos(text, "yes"),
                       "recover_supervisor_giveup needs a supervisord or "
                       "systemd supervisor, and this service has none"));
  EXPECT_TRUE(HasError(r, Pos(text, "on}"),
                       "recover_supervisor_giveup needs a supervisord or "
                       "systemd supervisor, and 'cmd' is a command "
                       "supervisor, which never gives a program up"));
  EXPECT_TRUE(HasError(r, Pos(text, "sometimes"),
                       "expected true or false, found 'sometimes'"));
  ASSERT_EQ(r.config.services.size(), 6u);
  EXPECT_TRUE(r.config.services[0].recover_supervisor_giveup);
  EXPECT_FALSE(r.config.services[1].recover_supervisor_giveup);
  EXPECT_FALSE(r.config.services[4].recover_supervisor_giveup);
}

TEST(LoaderTest, ServiceSettings) {
  const std::string text =
      "services:\n"
      "  'web@1':\n"
      "    pidfile: web.pid\n"
      "    program: ''\n"
      "    depends_on: [x, x]\n"
      "  x: {depends_on: {a: b}}\n"
      "  'a/b': {}\n"
      "  y: {depends_on: }\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(
      HasError(r, Pos(text, "web.pid"), "pidfile must be an absolute path"));
  EXPECT_TRUE(HasError(r, Pos(text, "''"), "must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "x]"), "'x' is already in depends_on"));
  EXPECT_TRUE(HasError(r, Pos(text, "{a: b}"),
                       "expected a service name or a list of them"));
  EXPECT_TRUE(HasError(r, Pos(text, "'a/b'"), "invalid service name 'a/b'"));
  EXPECT_EQ(r.errors.size(), 5u) << AllErrors(r);
}

TEST(LoaderTest, EveryErrorInOnePassInFileOrder) {
  LoadResult r = Load(
      "services:\n"
      "  a:\n"
      "    supervisor: nope\n"
      "    checks:\n"
      "      c: {tcp: {host: x, port: 0}, interval: 5}\n"
      "      d: {http: {url: 'ftp://x/'}, timeout: 1}\n"
      "daemon: {log_level: loud}\n");
  ASSERT_EQ(r.errors.size(), 6u) << AllErrors(r);
  std::vector<std::string> places;
  for (const ConfigError& e : r.errors) {
    places.push_back(std::to_string(e.location.line) + ":" +
                     std::to_string(e.location.column));
  }
  EXPECT_EQ(places, (std::vector<std::string>{"3:17", "5:32", "5:46", "6:23",
                                              "6:45", "7:21"}))
      << AllErrors(r);
}

TEST(LoaderTest, FileErrors) {
  watchd::testing::TempDir dir;
  LoadResult r = LoadConfig(dir.File("missing.yaml"));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(), "cannot read " + dir.File("missing.yaml") +
                                        ": No such file or directory");
  r = LoadConfig(dir.path());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "cannot read " + dir.path() + ": Is a directory");
  r = LoadConfig("/dev/null");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].ToString(),
            "cannot read /dev/null: not a regular file");
}

TEST(LoaderTest, LoadsARealFile) {
  watchd::testing::TempDir dir;
  ASSERT_TRUE(watchd::testing::WriteFile(
      dir.File("w.yaml"),
      "services:\n  a:\n    checks: {p: {tcp: {host: x, port: 1}}}\n"));
  LoadResult r = LoadConfig(dir.File("w.yaml"));
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  ASSERT_EQ(r.config.services.size(), 1u);
  EXPECT_EQ(r.config.services[0].location.file, dir.File("w.yaml"));
  EXPECT_EQ(r.config.services[0].checks[0].location.line, 3);
  EXPECT_EQ(r.config.services[0].checks[0].location.column, 14);
  EXPECT_EQ(r.config.files, std::vector<std::string>{dir.File("w.yaml")});
}

}  // namespace
}  // namespace watchd
