// What LoadConfig builds: every probe kind, check and service settings,
// defaults inheritance, and the example of SPEC.md.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "config/loader.h"
#include "config/loader_testing.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::AllErrors;
using testing::HasError;
using testing::Pos;

// What a file says, whatever this machine has installed: its commands are
// checked in loader_command_test.cc.
constexpr LoadOptions kFileOnly{.check_commands = false};

LoadResult Load(const std::string& text) {
  return LoadConfigFromString(text, "w.yaml", kFileOnly);
}

// The only check of the only service of `text`, which must be valid.
CheckConfig OnlyCheck(const std::string& text) {
  LoadResult r = Load(text);
  EXPECT_TRUE(r.ok()) << AllErrors(r);
  if (r.config.services.size() != 1 ||
      r.config.services[0].checks.size() != 1) {
    ADD_FAILURE() << "expected one service with one check";
    return CheckConfig{};
  }
  return r.config.services[0].checks[0];
}

// The spec's example, verbatim.
constexpr char kSpecExample[] = R"(daemon:
  control_socket: /run/watchd/control.sock   # mode 0660, see Security
  state_file: /var/lib/watchd/state.json     # survives daemon restarts
  metrics_listen: 127.0.0.1:9109             # Prometheus /metrics; "" = off
  log_level: info                            # trace|debug|info|warn|error
include: [checks.d/*.yaml]

defaults:                 # any check key may be defaulted here
  interval: 10s
  timeout: 2s
  jitter: 10%             # random spread of each interval, and of the first run
  failures: 3             # consecutive failures before the check is failing
  successes: 1            # consecutive successes before it passes again

supervisors:
  main:
    type: supervisord                     # XML-RPC, no shelling out
    url: unix:///run/supervisor.sock      # or http://127.0.0.1:9001
  sd:
    type: systemd                         # systemctl restart UNIT
  custom:
    type: command                         # argv, never a shell string
    restart: [/usr/local/bin/bounce, "{program}"]
    timeout: 30s

services:
  web:
    supervisor: main
    program: web              # the supervisor's name for it (unit, program)
    pidfile: /run/web.pid     # optional: else the pid comes from the supervisor
    depends_on: [redis]       # never restart web while redis is failing
    start_grace: 20s          # after a (re)start, failures don't count
    restart_limit: {max: 3, within: 10m, then: unmonitor}   # or: alert
    stop_timeout: 10s         # supervisor's stop hangs longer: SIGKILL the pid
    checks:
      health:
        http:
          url: http://127.0.0.1:8080/health
          method: GET
          expect_status: [200]          # default: any 2xx/3xx
          expect_body: "ok"             # regex, optional
          headers: {Host: example.org}
        interval: 5s
        on_failure: restart             # restart | alert (default alert)
      port:
        tcp: {host: 127.0.0.1, port: 8080}
      alive:
        process: {}                     # pid exists, is not a zombie, is the
                                        # same process (start time) as recorded
      memory:
        memory: {rss_max: 512MiB, include_children: true}
        failures: 3
        on_failure: restart
  upstream-api:               # a service with no supervisor: probes only
    checks:
      dns:  {dns: {name: api.example.org, type: A}}
      https:
        http: {url: https://api.example.org/ping}
)";

TEST(LoaderProbeTest, SpecExampleWithItsInclude) {
  watchd::testing::TempDir dir;
  ASSERT_TRUE(
      watchd::testing::WriteFile(dir.File("watchd.yaml"), kSpecExample));
  ASSERT_EQ(mkdir(dir.File("checks.d").c_str(), 0755), 0);
  ASSERT_TRUE(watchd::testing::WriteFile(
      dir.File("checks.d/redis.yaml"),
      "services:\n"
      "  redis:\n"
      "    supervisor: sd\n"
      "    program: redis-server.service\n"
      "    checks:\n"
      "      ping: {tcp: {host: 127.0.0.1, port: 6379, send: \"PING\\r\\n\", "
      "expect: \"^\\\\+PONG\"}}\n"));
  LoadResult r = LoadConfig(dir.File("watchd.yaml"), kFileOnly);
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  const Config& c = r.config;
  EXPECT_EQ(c.files,
            (std::vector<std::string>{dir.File("watchd.yaml"),
                                      dir.File("checks.d/redis.yaml")}));
  EXPECT_EQ(c.daemon.control_socket, "/run/watchd/control.sock");
  EXPECT_EQ(c.daemon.state_file, "/var/lib/watchd/state.json");
  EXPECT_EQ(c.daemon.metrics_listen, "127.0.0.1:9109");
  EXPECT_EQ(c.daemon.log_level, LogLevel::kInfo);

  ASSERT_EQ(c.supervisors.size(), 3u);
  EXPECT_EQ(c.supervisors.at("main").type, SupervisorType::kSupervisord);
  EXPECT_EQ(c.supervisors.at("main").url, "unix:///run/supervisor.sock");
  EXPECT_EQ(c.supervisors.at("sd").type, SupervisorType::kSystemd);
  EXPECT_EQ(c.supervisors.at("custom").restart,
            (std::vector<std::string>{"/usr/local/bin/bounce", "{program}"}));
  EXPECT_EQ(c.supervisors.at("custom").timeout, seconds(30));

  ASSERT_EQ(c.services.size(), 3u);
  const ServiceConfig& web = c.services[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.supervisor, "main");
  EXPECT_EQ(web.program, "web");
  EXPECT_EQ(web.pidfile, "/run/web.pid");
  EXPECT_EQ(web.depends_on, std::vector<std::string>{"redis"});
  EXPECT_EQ(web.start_grace, seconds(20));
  EXPECT_EQ(web.restart_limit.max, 3);
  EXPECT_EQ(web.restart_limit.within, minutes(10));
  EXPECT_EQ(web.restart_limit.then, RestartLimitAction::kUnmonitor);
  EXPECT_EQ(web.stop_timeout, seconds(10));
  EXPECT_EQ(web.location.line, 27);
  ASSERT_EQ(web.checks.size(), 4u);

  const CheckConfig& health = web.checks[0];
  EXPECT_EQ(health.name, "health");
  const auto& http = std::get<HttpProbeConfig>(health.probe);
  EXPECT_EQ(http.url, "http://127.0.0.1:8080/health");
  EXPECT_EQ(http.method, "GET");
  EXPECT_EQ(http.expect_status, std::vector<int>{200});
  EXPECT_EQ(http.expect_body, "ok");
  EXPECT_EQ(http.headers, (std::vector<std::pair<std::string, std::string>>{
                              {"Host", "example.org"}}));
  EXPECT_EQ(health.interval, seconds(5));
  EXPECT_EQ(health.timeout, seconds(2));
  EXPECT_DOUBLE_EQ(health.jitter, 0.1);
  EXPECT_EQ(health.failures, 3);
  EXPECT_EQ(health.successes, 1);
  EXPECT_EQ(health.on_failure, OnFailure::kRestart);

  const CheckConfig& port = web.checks[1];
  EXPECT_EQ(port.name, "port");
  EXPECT_EQ(std::get<TcpProbeConfig>(port.probe).port, 8080);
  EXPECT_EQ(port.interval, seconds(10));
  EXPECT_EQ(port.on_failure, OnFailure::kAlert);
  EXPECT_TRUE(std::holds_alternative<ProcessProbeConfig>(web.checks[2].probe));
  const auto& memory = std::get<MemoryProbeConfig>(web.checks[3].probe);
  EXPECT_EQ(memory.rss_max, uint64_t{512} << 20);
  EXPECT_TRUE(memory.include_children);
  EXPECT_EQ(web.checks[3].on_failure, OnFailure::kRestart);

  const ServiceConfig& api = c.services[1];
  EXPECT_EQ(api.name, "upstream-api");
  EXPECT_EQ(api.program, "upstream-api");
  EXPECT_FALSE(api.supervisor);
  ASSERT_EQ(api.checks.size(), 2u);
  const auto& dns = std::get<DnsProbeConfig>(api.checks[0].probe);
  EXPECT_EQ(dns.name, "api.example.org");
  EXPECT_EQ(dns.type, "A");
  EXPECT_EQ(std::get<HttpProbeConfig>(api.checks[1].probe).url,
            "https://api.example.org/ping");

  const ServiceConfig& redis = c.services[2];
  EXPECT_EQ(redis.location.file, dir.File("checks.d/redis.yaml"));
  const auto& tcp = std::get<TcpProbeConfig>(redis.checks[0].probe);
  EXPECT_EQ(tcp.send, "PING\r\n");
  EXPECT_EQ(tcp.expect, "^\\+PONG");
}

TEST(LoaderProbeTest, SpecExampleAloneMissesOnlyRedis) {
  std::string text = kSpecExample;
  LoadResult r =
      LoadConfigFromString(text, "/nonexistent-dir/watchd.yaml", kFileOnly);
  ASSERT_EQ(r.errors.size(), 1u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            Pos(text, "redis", 1, "/nonexistent-dir/watchd.yaml") +
                ": unknown service 'redis' in depends_on");
}

TEST(LoaderProbeTest, HttpProbe) {
  CheckConfig check = OnlyCheck(
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      h:\n"
      "        http:\n"
      "          url: https://user@example.org:8443/p?q=1#f\n"
      "          method: post\n"
      "          expect_status: 204\n"
      "          expect_body: '^\\{\"ok\":true\\}$'\n"
      "          headers: {Content-Type: application/json, X-Token: abc}\n"
      "          body: '{\"ping\": 1}'\n"
      "          reuse_connection: true\n"
      "          tls_verify: no\n"
      "          ca_file: /etc/ssl/ca.pem\n"
      "          max_body: 64KiB\n");
  const auto& http = std::get<HttpProbeConfig>(check.probe);
  EXPECT_EQ(http.url, "https://user@example.org:8443/p?q=1#f");
  EXPECT_EQ(http.method, "POST");
  EXPECT_EQ(http.expect_status, std::vector<int>{204});
  EXPECT_EQ(http.expect_body, "^\\{\"ok\":true\\}$");
  EXPECT_EQ(http.headers,
            (std::vector<std::pair<std::string, std::string>>{
                {"Content-Type", "application/json"}, {"X-Token", "abc"}}));
  EXPECT_EQ(http.body, "{\"ping\": 1}");
  EXPECT_TRUE(http.reuse_connection);
  EXPECT_FALSE(http.tls_verify);
  EXPECT_EQ(http.ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(http.max_body_bytes, 64u * 1024);
  EXPECT_STREQ(ProbeKindName(check.probe), "http");
}

TEST(LoaderProbeTest, HttpDefaults) {
  CheckConfig check = OnlyCheck(
      "services: {a: {checks: {h: {http: {url: 'http://[::1]:8080'}}}}}\n");
  const auto& http = std::get<HttpProbeConfig>(check.probe);
  EXPECT_EQ(http.method, "GET");
  EXPECT_TRUE(http.expect_status.empty());
  EXPECT_FALSE(http.expect_body);
  EXPECT_TRUE(http.headers.empty());
  EXPECT_FALSE(http.body);
  EXPECT_FALSE(http.reuse_connection);
  EXPECT_TRUE(http.tls_verify);
  EXPECT_FALSE(http.ca_file);
  EXPECT_EQ(http.max_body_bytes, 1u << 20);
}

TEST(LoaderProbeTest, BadHttpProbes) {
  const std::string text =
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      a: {http: {url: 'ftp://x/'}}\n"
      "      b: {http: {url: 'http://'}}\n"
      "      c: {http: {url: 'http://x:99999/'}}\n"
      "      d: {http: {url: 'http://x y/'}}\n"
      "      e: {http: {url: 'http://x/', method: 'GE T'}}\n"
      "      f: {http: {url: 'http://x/', expect_status: [200, 700]}}\n"
      "      g: {http: {url: 'http://x/', expect_body: '(unclosed'}}\n"
      "      h: {http: {url: 'http://x/', headers: {'Bad Name': x, X: "
      "\"a\\nb\"}}}\n"
      "      i: {http: {url: 'http://x/', tls_verify: maybe}}\n"
      "      j: {http: {url: 'http://x/', headers: [a]}}\n"
      "      k: {http: {url: 'http://x/', expect_status: }}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(
      HasError(r, Pos(text, "'ftp"),
               "invalid url 'ftp://x/': must start with http:// or https://"));
  EXPECT_TRUE(HasError(r, Pos(text, "'http://'"),
                       "invalid url 'http://': has no host"));
  EXPECT_TRUE(HasError(r, Pos(text, "'http://x:99999/'"),
                       "has a port that is not a number from 1 to 65535"));
  EXPECT_TRUE(HasError(r, Pos(text, "'http://x y/'"),
                       "must not contain spaces or control characters"));
  EXPECT_TRUE(HasError(r, Pos(text, "'GE T'"), "invalid HTTP method 'GE T'"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "700"), "must be from 100 to 599, not 700"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "'(unclosed'"), "invalid regex '(unclosed'"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "'Bad Name'"), "invalid header name 'Bad Name'"));
  EXPECT_TRUE(HasError(r, Pos(text, "\"a\\nb\""),
                       "header values must not contain line breaks"));
  EXPECT_TRUE(
      HasError(r, Pos(text, "maybe"), "expected true or false, found 'maybe'"));
  EXPECT_TRUE(HasError(r, Pos(text, "[a]"), "expected a map, found a list"));
  EXPECT_TRUE(HasError(r, Pos(text, "expect_status: }"),
                       "expected a status code or a list of them"));
  EXPECT_EQ(r.errors.size(), 12u) << AllErrors(r);
}

TEST(LoaderProbeTest, TcpProbe) {
  CheckConfig check = OnlyCheck(
      "services: {a: {checks: {t: {tcp: {host: db.local, port: 5432, send: hi, "
      "expect: '^OK'}}}}}\n");
  const auto& tcp = std::get<TcpProbeConfig>(check.probe);
  EXPECT_EQ(tcp.host, "db.local");
  EXPECT_EQ(tcp.port, 5432);
  EXPECT_EQ(tcp.send, "hi");
  EXPECT_EQ(tcp.expect, "^OK");
  EXPECT_STREQ(ProbeKindName(check.probe), "tcp");
  check = OnlyCheck(
      "services: {a: {checks: {t: {tcp: {host: '::1', port: 1}}}}}\n");
  EXPECT_FALSE(std::get<TcpProbeConfig>(check.probe).send);
  EXPECT_FALSE(std::get<TcpProbeConfig>(check.probe).expect);
}

TEST(LoaderProbeTest, DnsProbe) {
  CheckConfig check = OnlyCheck(
      "services: {a: {checks: {d: {dns: {name: example.org, type: MX, "
      "server: '127.0.0.1:5353', expect: [mx1.example.org, "
      "mx2.example.org]}}}}}\n");
  const auto& dns = std::get<DnsProbeConfig>(check.probe);
  EXPECT_EQ(dns.name, "example.org");
  EXPECT_EQ(dns.type, "MX");
  EXPECT_EQ(dns.server, "127.0.0.1:5353");
  EXPECT_EQ(dns.expect,
            (std::vector<std::string>{"mx1.example.org", "mx2.example.org"}));
  check = OnlyCheck(
      "services: {a: {checks: {d: {dns: {name: x.org, server: '::1', expect: "
      "1.2.3.4}}}}}\n");
  const auto& single = std::get<DnsProbeConfig>(check.probe);
  EXPECT_EQ(single.type, "A");
  EXPECT_EQ(single.server, "::1");
  EXPECT_EQ(single.expect, std::vector<std::string>{"1.2.3.4"});
  for (const char* type :
       {"A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR"}) {
    check = OnlyCheck(
        std::string("services: {a: {checks: {d: {dns: {name: x, type: ") +
        type + "}}}}}\n");
    EXPECT_EQ(std::get<DnsProbeConfig>(check.probe).type, type);
  }
}

TEST(LoaderProbeTest, BadDnsProbes) {
  const std::string text =
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      a: {dns: {name: x, server: dns.google}}\n"
      "      b: {dns: {name: x, server: '1.1.1.1:0'}}\n"
      "      c: {dns: {name: 'a b', type: SOA}}\n"
      "      d: {dns: {name: x, expect: [[1]]}}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(
      HasError(r, Pos(text, "dns.google"),
               "the DNS server must be an IP address, not 'dns.google'"));
  EXPECT_TRUE(HasError(r, Pos(text, "'1.1.1.1:0'"), "port must be a number"));
  EXPECT_TRUE(HasError(r, Pos(text, "'a b'"), "invalid DNS name 'a b'"));
  EXPECT_TRUE(HasError(r, Pos(text, "SOA"),
                       "expected A, AAAA, CNAME, MX, NS, TXT, SRV or PTR"));
  EXPECT_TRUE(HasError(r, Pos(text, "[1]"), "expected a string, found a list"));
  EXPECT_EQ(r.errors.size(), 5u) << AllErrors(r);
}

TEST(LoaderProbeTest, ProcessAndMemoryProbes) {
  for (std::string p : {"{}", "", "~", "null"}) {
    CheckConfig check =
        OnlyCheck("services: {a: {pidfile: /a.pid, checks: {p: {process: " + p +
                  "}}}}\n");
    EXPECT_TRUE(std::holds_alternative<ProcessProbeConfig>(check.probe)) << p;
    EXPECT_STREQ(ProbeKindName(check.probe), "process");
  }
  CheckConfig check = OnlyCheck(
      "services: {a: {pidfile: /a.pid, checks: {m: {memory: {rss_max: "
      "2GiB}}}}}\n");
  const auto& memory = std::get<MemoryProbeConfig>(check.probe);
  EXPECT_EQ(memory.rss_max, uint64_t{2} << 30);
  EXPECT_FALSE(memory.include_children);
  EXPECT_STREQ(ProbeKindName(check.probe), "memory");
  check = OnlyCheck(
      "services: {a: {pidfile: /a.pid, checks: {m: {memory: {rss_max: "
      "123456}}}}}\n");
  EXPECT_EQ(std::get<MemoryProbeConfig>(check.probe).rss_max, 123456u);
  const std::string text =
      "services: {a: {pidfile: /a.pid, checks: {p: {process: 1}}}}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, Pos(text, "1}"), "expected a map, found a scalar"));
}

TEST(LoaderProbeTest, ExecProbe) {
  CheckConfig check = OnlyCheck(
      "services: {a: {checks: {e: {exec: [/usr/bin/check, --quick, '']}}}}\n");
  EXPECT_EQ(std::get<ExecProbeConfig>(check.probe).argv,
            (std::vector<std::string>{"/usr/bin/check", "--quick", ""}));
  EXPECT_STREQ(ProbeKindName(check.probe), "exec");
  check =
      OnlyCheck("services: {a: {checks: {e: {exec: {command: [true]}}}}}\n");
  EXPECT_EQ(std::get<ExecProbeConfig>(check.probe).argv,
            std::vector<std::string>{"true"});
  const std::string text =
      "services:\n"
      "  a:\n"
      "    checks:\n"
      "      a: {exec: []}\n"
      "      b: {exec: '/bin/check --x'}\n"
      "      c: {exec: {command: []}}\n"
      "      d: {exec: ['', x]}\n"
      "      e: {exec: [x, [y]]}\n";
  LoadResult r = Load(text);
  EXPECT_TRUE(HasError(r, Pos(text, "[]"), "the command must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "'/bin"), "expected a command list"));
  EXPECT_TRUE(HasError(r, Pos(text, "[]", 2), "the command must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "''"), "must not be empty"));
  EXPECT_TRUE(HasError(r, Pos(text, "[y]"), "expected a string, found a list"));
  EXPECT_EQ(r.errors.size(), 5u) << AllErrors(r);
}

TEST(LoaderProbeTest, CheckSettings) {
  CheckConfig check = OnlyCheck(
      "services:\n"
      "  a:\n"
      "    supervisor: s\n"
      "    checks:\n"
      "      t:\n"
      "        tcp: {host: x, port: 1}\n"
      "        interval: 1m30s\n"
      "        timeout: 250ms\n"
      "        jitter: 0.25\n"
      "        failures: 5\n"
      "        successes: 2\n"
      "        on_failure: restart\n"
      "supervisors: {s: {type: systemd}}\n");
  EXPECT_EQ(check.name, "t");
  EXPECT_EQ(check.interval, seconds(90));
  EXPECT_EQ(check.timeout, milliseconds(250));
  EXPECT_DOUBLE_EQ(check.jitter, 0.25);
  EXPECT_EQ(check.failures, 5);
  EXPECT_EQ(check.successes, 2);
  EXPECT_EQ(check.on_failure, OnFailure::kRestart);
  EXPECT_EQ(check.location.file, "w.yaml");
  EXPECT_EQ(check.location.line, 5);
  EXPECT_EQ(check.location.column, 7);
  check = OnlyCheck(
      "services: {a: {checks: {t: {tcp: {host: x, port: 1}, jitter: 0%}}}}\n");
  EXPECT_DOUBLE_EQ(check.jitter, 0.0);
  check = OnlyCheck(
      "services: {a: {checks: {t: {tcp: {host: x, port: 1}, jitter: "
      "100%}}}}\n");
  EXPECT_DOUBLE_EQ(check.jitter, 1.0);
}

TEST(LoaderProbeTest, BuiltInDefaults) {
  LoadResult r =
      Load("services: {a: {checks: {t: {tcp: {host: x, port: 1}}}}}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  const ServiceConfig& s = r.config.services[0];
  EXPECT_EQ(s.program, "a");
  EXPECT_FALSE(s.supervisor);
  EXPECT_FALSE(s.pidfile);
  EXPECT_EQ(s.start_grace, seconds(20));
  EXPECT_EQ(s.stop_timeout, seconds(10));
  EXPECT_EQ(s.restart_limit.max, 3);
  EXPECT_EQ(s.restart_limit.within, minutes(10));
  EXPECT_EQ(s.restart_limit.then, RestartLimitAction::kUnmonitor);
  EXPECT_EQ(s.restart_backoff.initial, seconds(5));
  EXPECT_EQ(s.restart_backoff.max, minutes(5));
  const CheckConfig& c = s.checks[0];
  EXPECT_EQ(c.interval, seconds(10));
  EXPECT_EQ(c.timeout, seconds(2));
  EXPECT_DOUBLE_EQ(c.jitter, 0.1);
  EXPECT_EQ(c.failures, 3);
  EXPECT_EQ(c.successes, 1);
  EXPECT_EQ(c.on_failure, OnFailure::kAlert);
}

TEST(LoaderProbeTest, DefaultsInheritance) {
  LoadResult r = Load(
      "services:\n"
      "  early:\n"
      "    checks: {t: {tcp: {host: x, port: 1}}}\n"
      "  a:\n"
      "    restart_limit: {max: 7}\n"
      "    start_grace: 0s\n"
      "    checks:\n"
      "      inherits: {tcp: {host: x, port: 1}}\n"
      "      overrides: {tcp: {host: x, port: 1}, interval: 1m, failures: 1, "
      "jitter: 5%, successes: 4, timeout: 1s}\n"
      "defaults:\n"
      "  interval: 30s\n"
      "  timeout: 5s\n"
      "  jitter: 20%\n"
      "  failures: 2\n"
      "  successes: 3\n"
      "  start_grace: 1m\n"
      "  stop_timeout: 3s\n"
      "  restart_limit: {within: 1h, then: alert}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  // Defaults apply wherever they are written, also to services before them.
  const ServiceConfig& early = r.config.services[0];
  EXPECT_EQ(early.checks[0].interval, seconds(30));
  EXPECT_EQ(early.start_grace, minutes(1));
  EXPECT_EQ(early.restart_limit.max, 3);
  EXPECT_EQ(early.restart_limit.within, std::chrono::hours(1));
  EXPECT_EQ(early.restart_limit.then, RestartLimitAction::kAlert);

  const ServiceConfig& a = r.config.services[1];
  EXPECT_EQ(a.start_grace, Duration::zero());
  EXPECT_EQ(a.stop_timeout, seconds(3));
  EXPECT_EQ(a.restart_limit.max, 7);  // merged key by key
  EXPECT_EQ(a.restart_limit.within, std::chrono::hours(1));
  EXPECT_EQ(a.restart_limit.then, RestartLimitAction::kAlert);
  const CheckConfig& inherits = a.checks[0];
  EXPECT_EQ(inherits.interval, seconds(30));
  EXPECT_EQ(inherits.timeout, seconds(5));
  EXPECT_DOUBLE_EQ(inherits.jitter, 0.2);
  EXPECT_EQ(inherits.failures, 2);
  EXPECT_EQ(inherits.successes, 3);
  const CheckConfig& overrides = a.checks[1];
  EXPECT_EQ(overrides.interval, minutes(1));
  EXPECT_EQ(overrides.timeout, seconds(1));
  EXPECT_DOUBLE_EQ(overrides.jitter, 0.05);
  EXPECT_EQ(overrides.failures, 1);
  EXPECT_EQ(overrides.successes, 4);
}

TEST(LoaderProbeTest, RestartBackoff) {
  const std::string text =
      "defaults: {restart_backoff: {max: 10m}}\n"
      "services:\n"
      "  a: {restart_backoff: {initial: 1s}}\n"
      "  b: {restart_backoff: {initial: 0s, max: 1s}}\n"
      "  c: {}\n"
      "  d: {restart_backoff: {initial: 20m}}\n"
      "  e: {restart_backoff: {max: 0s}}\n";
  LoadResult r = Load(text);
  ASSERT_EQ(r.errors.size(), 2u) << AllErrors(r);
  EXPECT_EQ(r.errors[0].ToString(),
            Pos(text, "{initial: 20m}") +
                ": restart_backoff: initial 20m is longer "
                "than max 10m");
  EXPECT_TRUE(HasError(r, Pos(text, "0s}}"), "must be longer than 0s"));
  const std::vector<ServiceConfig>& s = r.config.services;
  EXPECT_EQ(s[0].restart_backoff.initial, seconds(1));
  EXPECT_EQ(s[0].restart_backoff.max, minutes(10));
  EXPECT_EQ(s[1].restart_backoff.initial, Duration::zero());
  EXPECT_EQ(s[1].restart_backoff.max, seconds(1));
  EXPECT_EQ(s[2].restart_backoff.initial, seconds(5));
  EXPECT_EQ(s[2].restart_backoff.max, minutes(10));
}

TEST(LoaderProbeTest, ChecksKeepFileOrder) {
  LoadResult r = Load(
      "services:\n"
      "  s:\n"
      "    checks:\n"
      "      z: {tcp: {host: x, port: 1}}\n"
      "      a: {tcp: {host: x, port: 2}}\n"
      "      m: {tcp: {host: x, port: 3}}\n"
      "  b: {}\n"
      "  a: {checks: }\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  ASSERT_EQ(r.config.services.size(), 3u);
  EXPECT_EQ(r.config.services[0].name, "s");
  EXPECT_EQ(r.config.services[1].name, "b");
  EXPECT_EQ(r.config.services[2].name, "a");
  std::vector<std::string> names;
  for (const CheckConfig& c : r.config.services[0].checks)
    names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"z", "a", "m"}));
}

TEST(LoaderProbeTest, AnchorsAndAliasesWork) {
  LoadResult r = Load(
      "x-common: &tcp {host: 127.0.0.1, port: 22}\n"
      "services:\n"
      "  a: {checks: {t: {tcp: *tcp}}}\n"
      "  b: {checks: {t: {tcp: *tcp}}}\n");
  // Extra top-level keys are not allowed, even for anchors.
  EXPECT_TRUE(HasError(r, "w.yaml:1:1", "unknown key 'x-common'"));
  r = Load(
      "services:\n"
      "  a: {checks: {t: {tcp: &tcp {host: 127.0.0.1, port: 22}}}}\n"
      "  b: {checks: {t: {tcp: *tcp}}}\n");
  ASSERT_TRUE(r.ok()) << AllErrors(r);
  EXPECT_EQ(std::get<TcpProbeConfig>(r.config.services[1].checks[0].probe).port,
            22);
}

}  // namespace
}  // namespace watchd
