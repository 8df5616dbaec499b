#include "probes/dns_probe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>

#include "core/event_loop.h"
#include "tests/support/net.h"
#include "tests/support/probe_reentry.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Runs DnsProbes against tests/servers/dns_server.py.
class DnsProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  void StartServer(const std::vector<std::string>& extra = {},
                   const ResolverOptions& options = {}) {
    const int port = testing::FreePort(/*udp=*/true);
    server_address_ = "127.0.0.1:" + std::to_string(port);
    log_ = dir_.File("queries.log");
    std::vector<std::string> argv = {
        "python3",    testing::SourcePath("tests/servers/dns_server.py"),
        "--port",     std::to_string(port),
        "--log-file", log_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    ASSERT_TRUE(server_.Start(argv, dir_.File("server.out")));
    ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(log_); },
                                 milliseconds(10000)));
    auto resolver = Resolver::Create(&loop_, server_address_, options);
    ASSERT_TRUE(resolver.ok()) << resolver.status().ToString();
    resolver_ = std::move(resolver).value();
  }

  int Queries(const std::string& name_type) {
    std::istringstream lines(testing::ReadFile(log_));
    int n = 0;
    for (std::string line; std::getline(lines, line);) n += line == name_type;
    return n;
  }

  DnsProbeConfig Config(const std::string& name, const std::string& type,
                        std::vector<std::string> expect = {}) {
    DnsProbeConfig config;
    config.name = name;
    config.type = type;
    config.server = server_address_;
    config.expect = std::move(expect);
    return config;
  }

  // One run of `probe` to its end, with a generous deadline.
  std::optional<ProbeResult> Run(DnsProbe& probe) {
    std::optional<ProbeResult> result;
    probe.Start(seconds(5), [&](ProbeResult r) { result = std::move(r); });
    const TimePoint deadline = loop_.Now() + seconds(20);
    while (!result && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return result;
  }

  ProbeResult RunConfig(const DnsProbeConfig& config) {
    DnsProbe probe(config, resolver_.get());
    std::optional<ProbeResult> result = Run(probe);
    EXPECT_TRUE(result.has_value()) << config.name;
    return result.value_or(ProbeResult::Error("no result"));
  }

  EventLoop loop_;
  testing::TempDir dir_;
  testing::Subprocess server_;
  std::string server_address_;
  std::string log_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(DnsProbeTest, KnownRecordPasses) {
  StartServer();
  ProbeResult result = RunConfig(Config("svc.test", "A"));
  EXPECT_EQ(result.outcome, ProbeOutcome::kSuccess) << result.reason;
  EXPECT_EQ(result.reason, "127.0.0.2");
  ASSERT_TRUE(result.dns_lookup_seconds.has_value());
  EXPECT_GT(*result.dns_lookup_seconds, 0.0);
  EXPECT_LT(*result.dns_lookup_seconds, 20.0);
}

TEST_F(DnsProbeTest, ExpectedRecordsMustAllBeThere) {
  StartServer();
  ProbeResult ok = RunConfig(Config("multi.test", "A", {"127.0.0.4"}));
  EXPECT_EQ(ok.outcome, ProbeOutcome::kSuccess) << ok.reason;

  ProbeResult mismatch = RunConfig(Config("svc.test", "A", {"10.0.0.1"}));
  EXPECT_EQ(mismatch.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(mismatch.reason, "expected 10.0.0.1, got 127.0.0.2");
  EXPECT_TRUE(mismatch.dns_lookup_seconds.has_value());

  ProbeResult one_missing =
      RunConfig(Config("multi.test", "A", {"127.0.0.3", "127.0.0.9"}));
  EXPECT_EQ(one_missing.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(one_missing.reason.rfind("expected 127.0.0.9, got ", 0), 0u)
      << one_missing.reason;
}

TEST_F(DnsProbeTest, RecordsCompareAsDnsDoes) {
  StartServer();
  // Addresses by value, names without case or the final dot.
  EXPECT_EQ(RunConfig(Config("svc.test", "AAAA", {"2001:DB8:0::2"})).outcome,
            ProbeOutcome::kSuccess);
  ProbeResult mx =
      RunConfig(Config("mail.test", "mx", {"10 MX1.test.", "20  mx2.test"}));
  EXPECT_EQ(mx.outcome, ProbeOutcome::kSuccess) << mx.reason;
  EXPECT_EQ(RunConfig(Config("alias.test", "CNAME", {"svc.test."})).outcome,
            ProbeOutcome::kSuccess);
  // TXT exactly.
  ProbeResult txt =
      RunConfig(Config("txt.test", "TXT", {"hello world", "v=spf1 -all"}));
  EXPECT_EQ(txt.outcome, ProbeOutcome::kSuccess) << txt.reason;
  EXPECT_EQ(RunConfig(Config("txt.test", "TXT", {"Hello world"})).outcome,
            ProbeOutcome::kFailure);
}

TEST_F(DnsProbeTest, DnsFailuresAreProbeFailures) {
  StartServer();
  ProbeResult nx = RunConfig(Config("missing.test", "A"));
  EXPECT_EQ(nx.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(nx.reason, "NXDOMAIN");
  EXPECT_TRUE(nx.dns_lookup_seconds.has_value());

  ProbeResult none = RunConfig(Config("svc.test", "MX"));
  EXPECT_EQ(none.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(none.reason, "no MX records");

  EXPECT_EQ(RunConfig(Config("servfail.test", "A")).reason, "SERVFAIL");
}

TEST_F(DnsProbeTest, EveryRunAsksTheServer) {
  StartServer();
  DnsProbe probe(Config("svc.test", "A"), resolver_.get());
  for (int i = 0; i < 3; ++i) {
    std::optional<ProbeResult> result = Run(probe);
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->outcome, ProbeOutcome::kSuccess);
  }
  EXPECT_EQ(Queries("svc.test A"), 3);
  // Its answers still feed the cache of the other probes.
  std::optional<QueryAnswer> cached;
  resolver_->Query("svc.test", "A", [&](const QueryAnswer& a) { cached = a; });
  ASSERT_TRUE(cached.has_value());
  EXPECT_TRUE(cached->from_cache);
}

// A server that never answers: the run stays in flight until the Check
// cancels it, unless the resolver's own timeout comes first.
TEST_F(DnsProbeTest, SilentServerStaysInFlightUntilCancelled) {
  StartServer({"--mode", "silent"});
  DnsProbe probe(Config("svc.test", "A"), resolver_.get());
  int calls = 0;
  probe.Start(seconds(2), [&](ProbeResult) { ++calls; });
  // Until the query has reached the server, then a little longer.
  const TimePoint deadline = loop_.Now() + seconds(10);
  while (Queries("svc.test A") == 0 && loop_.Now() < deadline) {
    loop_.RunOnce(milliseconds(50));
  }
  ASSERT_GE(Queries("svc.test A"), 1);
  for (int i = 0; i < 4; ++i) loop_.RunOnce(milliseconds(50));
  EXPECT_EQ(calls, 0);
  probe.Cancel();
  // Past c-ares' own timeout (1s + 2s): its timer is gone, nothing called.
  const TimePoint give_up = loop_.Now() + seconds(20);
  while (loop_.pending_timers() > 0 && loop_.Now() < give_up) {
    loop_.RunOnce(milliseconds(100));
  }
  EXPECT_EQ(loop_.pending_timers(), 0u);
  EXPECT_EQ(calls, 0);

  // The probe runs again after a cancel.
  std::optional<ProbeResult> again;
  probe.Start(seconds(2), [&](ProbeResult r) { again = std::move(r); });
  probe.Cancel();
  for (int i = 0; i < 3; ++i) loop_.RunOnce(milliseconds(20));
  EXPECT_FALSE(again.has_value());
}

TEST_F(DnsProbeTest, ResolverTimeoutIsAFailure) {
  ResolverOptions quick;
  quick.attempt_timeout = milliseconds(200);
  quick.tries = 2;
  StartServer({"--mode", "silent"}, quick);
  ProbeResult result = RunConfig(Config("svc.test", "A"));
  EXPECT_EQ(result.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(result.reason, "DNS server timed out");
  ASSERT_TRUE(result.dns_lookup_seconds.has_value());
  EXPECT_GE(*result.dns_lookup_seconds, 0.5);
}

TEST_F(DnsProbeTest, DestroyedInFlightCallsNothing) {
  StartServer({"--mode", "silent"});
  int calls = 0;
  {
    DnsProbe probe(Config("svc.test", "A"), resolver_.get());
    probe.Start(seconds(2), [&](ProbeResult) { ++calls; });
  }
  resolver_.reset();
  for (int i = 0; i < 3; ++i) loop_.RunOnce(milliseconds(20));
  EXPECT_EQ(calls, 0);
}

// As a Check does: each `done` cancels the probe (a no-op by then) and
// starts its next run at once, the last one destroys it. An unsupported
// type ends its runs before Start returns.
TEST_F(DnsProbeTest, DoneMayCancelRestartAndDestroyTheProbe) {
  StartServer();
  for (const DnsProbeConfig& config :
       {Config("svc.test", "A", {"127.0.0.2"}), Config("svc.test", "HINFO")}) {
    std::vector<ProbeResult> results = testing::RunRestartingFromDone(
        std::make_unique<DnsProbe>(config, resolver_.get()), loop_, seconds(2),
        3, seconds(20));
    ASSERT_EQ(results.size(), 3u) << config.type;
    for (const ProbeResult& r : results) {
      if (config.type == "A") {
        EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
      } else {
        EXPECT_EQ(r.reason, "unsupported record type \"HINFO\"");
      }
    }
  }
  EXPECT_EQ(Queries("svc.test A"), 3);
}

}  // namespace
}  // namespace watchd
