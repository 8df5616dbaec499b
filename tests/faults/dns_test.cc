// Faults at a DNS server that dns checks ask: a real server
// (tests/servers/dns_server.py) on 127.0.0.1, one service per fault beside
// the sentinel. See docs/reliability.md, "Fault matrix".
//
// Host names in http and tcp checks are resolved by the system's servers
// (/etc/resolv.conf), which a test cannot point at its own server: every
// fault here is met by dns checks, which name theirs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "tests/support/http_server.h"
#include "tests/support/metrics_text.h"
#include "tests/support/net.h"
#include "tests/support/on_schedule.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kVerdictTimeout = seconds(30);

// A service `service` of one dns check "lookup" of `name` (type A).
std::string DnsService(const std::string& service, const std::string& server,
                       const std::string& name, const std::string& timing,
                       const std::string& extra = "") {
  return "  " + service +
         ":\n    checks:\n      lookup:\n        dns: {name: " + name +
         ", type: A, server: \"" + server + "\"" + extra + "}\n" + timing +
         "        failures: 1\n";
}

std::string Every(const std::string& interval, const std::string& timeout) {
  return "        interval: " + interval + "\n        timeout: " + timeout +
         "\n";
}

class DnsFault : public ::testing::Test {
 protected:
  void SetUp() override {
    const int port = FreePort(/*udp=*/true);
    queries_ = dir_.File("dns.queries");
    ASSERT_TRUE(
        dns_.Start({"python3", SourcePath("tests/servers/dns_server.py"),
                    "--host", "127.0.0.1", "--port", std::to_string(port),
                    "--tcp", "--log-file", queries_},
                   dir_.File("dns.log")));
    // The server creates its query log once its sockets are bound.
    ASSERT_TRUE(WaitFor([&] { return access(queries_.c_str(), F_OK) == 0; },
                        seconds(20)))
        << ReadFile(dir_.File("dns.log"));
    server_ = "127.0.0.1:" + std::to_string(port);
  }

  // How many queries the server logged as exactly `line` ("NAME TYPE" over
  // UDP, "NAME TYPE tcp" over TCP).
  int Queries(const std::string& line) const {
    std::istringstream lines(ReadFile(queries_));
    int n = 0;
    for (std::string got; std::getline(lines, got);) n += got == line;
    return n;
  }

  TempDir dir_;
  Subprocess dns_;
  std::string queries_;
  std::string server_;
};

double Probes(const std::vector<Sample>& samples, const std::string& service,
              const std::string& result) {
  return FindMetric(
             samples, "watchd_probes_total",
             {{"service", service}, {"check", "lookup"}, {"result", result}})
      .value_or(0);
}

// Every fault of the DNS row at once, each a service of its own:
//   nxdomain   a name the server does not know;
//   servfail   the server answers SERVFAIL;
//   silent     the server never answers, the check's timeout (500ms) first;
//   silent3s   the same with room for the resolver's own timeout (1s + 2s);
//   truncated  the UDP answer (40 A records) comes truncated with TC set:
//              c-ares asks again over TCP and gets all of it;
//   garbage    a burst of junk datagrams, then a reply with the right id
//              and question whose answer record cannot be read;
//   noise      the junk alone: no reply that matches the query ever comes;
//   ttl0       an answer with TTL 0;
//   cnameloop  loop1.test -> loop2.test -> loop1.test.
TEST_F(DnsFault, EachFaultHasItsVerdictReasonAndMetricsAndTheLoopKeepsTime) {
  HttpServer http;
  ASSERT_TRUE(http.WaitReady());
  const std::string fast = Every("400ms", "400ms");
  const std::string services =
      SentinelService(http) +
      DnsService("nxdomain", server_, "missing.test", fast) +
      DnsService("servfail", server_, "servfail.test", fast) +
      DnsService("silent", server_, "blackhole.test", Every("1s", "500ms")) +
      DnsService("silent3s", server_, "blackhole.test", Every("5s", "5s")) +
      DnsService("truncated", server_, "tc.test", fast,
                 ", expect: [127.0.1.1, 127.0.1.40]") +
      DnsService("garbage", server_, "garbage.test", fast) +
      DnsService("noise", server_, "noise.test", Every("1s", "500ms")) +
      DnsService("ttl0", server_, "zero.test", Every("250ms", "250ms"),
                 ", expect: [127.0.0.8]") +
      DnsService("cnameloop", server_, "loop1.test", fast);
  WatchdProcess watchd(services);
  ASSERT_TRUE(watchd.Start()) << watchd.Log();

  // The verdict and reason of each check, from its transition.
  const std::vector<std::pair<std::string, std::string>> failing = {
      {"nxdomain", "NXDOMAIN"},
      {"servfail", "SERVFAIL"},
      {"silent", "timeout after 500ms"},
      {"silent3s", "DNS server timed out"},
      {"garbage", "bad DNS response"},
      {"noise", "timeout after 500ms"},
      {"cnameloop", "CNAME loop: loop1.test -> loop2.test -> loop1.test"},
  };
  for (const auto& [service, reason] : failing) {
    EXPECT_TRUE(watchd.WaitForLog(
        service + "/lookup (dns): pending -> failing: " + reason,
        kVerdictTimeout))
        << service << "\n"
        << watchd.Log();
  }
  for (const std::string service : {"truncated", "ttl0"}) {
    EXPECT_TRUE(watchd.WaitForMetric(
        "watchd_check_up",
        {{"service", service}, {"check", "lookup"}, {"kind", "dns"}}, 1,
        kVerdictTimeout))
        << service << "\n"
        << watchd.Log();
  }

  // The result each run was counted as, and nothing else.
  const std::vector<std::pair<std::string, std::string>> results = {
      {"nxdomain", "failure"},  {"servfail", "failure"},
      {"silent", "timeout"},    {"silent3s", "failure"},
      {"truncated", "success"}, {"garbage", "failure"},
      {"noise", "timeout"},     {"ttl0", "success"},
      {"cnameloop", "failure"},
  };
  std::vector<Sample> samples;
  ASSERT_TRUE(WaitFor(
      [&] {
        samples = watchd.Scrape();
        for (const auto& [service, result] : results) {
          if (Probes(samples, service, result) < 1) return false;
        }
        return true;
      },
      kVerdictTimeout, milliseconds(100)))
      << watchd.ScrapeText();
  for (const auto& [service, result] : results) {
    for (const std::string other : {"success", "failure", "timeout", "error"}) {
      if (other == result) continue;
      EXPECT_EQ(Probes(samples, service, other), 0)
          << service << " counted as " << other;
    }
  }
  // A lookup time for every answer that came, however bad.
  for (const std::string service :
       {"nxdomain", "servfail", "truncated", "garbage", "ttl0", "cnameloop"}) {
    std::optional<double> lookup =
        FindMetric(samples, "watchd_probe_dns_lookup_time_seconds",
                   {{"service", service}, {"check", "lookup"}});
    ASSERT_TRUE(lookup.has_value()) << service;
    EXPECT_GT(*lookup, 0) << service;
    EXPECT_LT(*lookup, 1) << service;
  }

  // TC: every run asked over UDP, then again over TCP, and passed on the
  // whole answer (both ends of the 40 records were expected).
  const double truncated_runs = Probes(watchd.Scrape(), "truncated", "success");
  const int udp = Queries("tc.test A");
  const int tcp = Queries("tc.test A tcp");
  EXPECT_GE(tcp, truncated_runs);
  EXPECT_GE(udp, tcp);
  EXPECT_LE(udp, tcp + 1);  // one run may be between the two

  // TTL 0: each run asks the server again (a dns check never reads the
  // cache, and a zero TTL is never stored), over a window of 10 runs.
  const double ttl0_before = Probes(watchd.Scrape(), "ttl0", "success");
  const int ttl0_queries_before = Queries("zero.test A");
  ASSERT_TRUE(WaitFor(
      [&] {
        return Probes(watchd.Scrape(), "ttl0", "success") >= ttl0_before + 10;
      },
      kVerdictTimeout, milliseconds(50)));
  // Runs counted first, queries read after: a query is logged before it is
  // answered, so each counted run's query is in the log, and at most the
  // runs in flight beside it (one, at most two across the reads) are extra.
  const double ttl0_runs = Probes(watchd.Scrape(), "ttl0", "success");
  const int ttl0_queries = Queries("zero.test A");
  EXPECT_GE(ttl0_queries - ttl0_queries_before, ttl0_runs - ttl0_before - 1);
  EXPECT_GE(ttl0_queries, ttl0_runs);
  EXPECT_LE(ttl0_queries, ttl0_runs + 2);

  // CNAME loop: one query per run for the name asked, none chasing the
  // loop's other name.
  const double loop_runs = Probes(watchd.Scrape(), "cnameloop", "failure");
  const int loop_queries = Queries("loop1.test A");
  EXPECT_GE(loop_queries, loop_runs);
  EXPECT_LE(loop_queries, loop_runs + 2);
  EXPECT_EQ(Queries("loop2.test A"), 0);

  // A silent server: c-ares tries it twice per run, no more, even for the
  // runs the check abandoned at its timeout.
  const double silent_runs = Probes(watchd.Scrape(), "silent", "timeout") +
                             Probes(watchd.Scrape(), "silent3s", "failure");
  EXPECT_LE(Queries("blackhole.test A"), 2 * (silent_runs + 2));
  // Junk: the garbage was asked once per run (no retry after a reply that
  // could not be read).
  EXPECT_LE(Queries("garbage.test A"),
            Probes(watchd.Scrape(), "garbage", "failure") + 2);

  EXPECT_TRUE(dns_.running()) << "the DNS server died";
  EXPECT_TRUE(StillOnSchedule(watchd));
}

}  // namespace
}  // namespace watchd::testing
