#include "net/resolver.h"

#include <ares.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <sstream>

#include "core/event_loop.h"
#include "net/ares_reply.h"
#include "net/resolver_pool.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FreePort;
using testing::SourcePath;
using testing::Subprocess;
using testing::TempDir;
using testing::WaitFor;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  // Starts tests/servers/dns_server.py; returns its "127.0.0.1:port".
  std::string StartServer(const std::vector<std::string>& extra = {},
                          const std::string& host = "127.0.0.1") {
    const int port = FreePort(/*udp=*/true);
    log_ = dir_.File("queries.log");
    std::vector<std::string> argv = {
        "python3",    SourcePath("tests/servers/dns_server.py"),
        "--host",     host,
        "--port",     std::to_string(port),
        "--log-file", log_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    EXPECT_TRUE(server_.Start(argv, dir_.File("server.out")));
    EXPECT_TRUE(WaitFor([&] { return std::filesystem::exists(log_); },
                        milliseconds(10000)));
    const std::string where = std::to_string(port);
    return host.find(':') == std::string::npos ? host + ":" + where
                                               : "[" + host + "]:" + where;
  }

  // How many queries for "name TYPE" reached the server.
  int Queries(const std::string& name_type) {
    std::istringstream lines(testing::ReadFile(log_));
    int n = 0;
    for (std::string line; std::getline(lines, line);) n += line == name_type;
    return n;
  }

  std::unique_ptr<Resolver> Make(const std::optional<std::string>& server,
                                 const ResolverOptions& options = {}) {
    auto resolver = Resolver::Create(&loop_, server, options);
    EXPECT_TRUE(resolver.ok()) << resolver.status().ToString();
    return resolver.ok() ? std::move(resolver).value() : nullptr;
  }

  bool RunUntil(const std::function<bool()>& cond,
                Duration timeout = seconds(15)) {
    const TimePoint deadline = loop_.Now() + timeout;
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  ResolveAnswer ResolveNow(Resolver* resolver, const std::string& host) {
    std::optional<ResolveAnswer> answer;
    resolver->Resolve(host, [&](const ResolveAnswer& a) { answer = a; });
    EXPECT_TRUE(RunUntil([&] { return answer.has_value(); })) << host;
    if (answer) return *answer;
    ResolveAnswer none;
    none.status = Status::Error("no callback");
    return none;
  }

  QueryAnswer QueryNow(Resolver* resolver, const std::string& name,
                       const std::string& type, bool use_cache = true) {
    std::optional<QueryAnswer> answer;
    auto cb = [&](const QueryAnswer& a) { answer = a; };
    if (use_cache) {
      resolver->Query(name, type, cb);
    } else {
      resolver->QueryUncached(name, type, cb);
    }
    EXPECT_TRUE(RunUntil([&] { return answer.has_value(); }))
        << name << " " << type;
    if (answer) return *answer;
    QueryAnswer none;
    none.status = Status::Error("no callback");
    return none;
  }

  EventLoop loop_;
  TempDir dir_;
  Subprocess server_;
  std::string log_;
};

using Addresses = std::vector<std::string>;

TEST_F(ResolverTest, IpLiteralsAnswerBeforeReturnWithoutLookup) {
  auto resolver = Make(std::nullopt);
  ASSERT_NE(resolver, nullptr);
  for (const auto& [host, want] :
       std::vector<std::pair<std::string, std::string>>{
           {"127.0.0.1", "127.0.0.1"},
           {"::1", "::1"},
           {"[::1]", "::1"},
           {"2001:DB8:0::1", "2001:db8::1"}}) {
    std::optional<ResolveAnswer> answer;
    resolver->Resolve(host, [&](const ResolveAnswer& a) { answer = a; });
    ASSERT_TRUE(answer.has_value()) << host;
    EXPECT_TRUE(answer->status.ok());
    EXPECT_EQ(answer->addresses, Addresses{want});
    EXPECT_EQ(answer->lookup_time, Duration::zero());
  }
  EXPECT_EQ(loop_.pending_timers(), 0u);
}

TEST_F(ResolverTest, ResolvesNamesIpv4First) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  ResolveAnswer svc = ResolveNow(resolver.get(), "svc.test");
  ASSERT_TRUE(svc.status.ok()) << svc.status.ToString();
  EXPECT_EQ(svc.addresses, (Addresses{"127.0.0.2", "2001:db8::2"}));
  EXPECT_FALSE(svc.from_cache);
  EXPECT_GT(svc.lookup_time, Duration::zero());

  ResolveAnswer multi = ResolveNow(resolver.get(), "multi.test");
  ASSERT_TRUE(multi.status.ok());
  std::sort(multi.addresses.begin(), multi.addresses.end());
  EXPECT_EQ(multi.addresses, (Addresses{"127.0.0.3", "127.0.0.4"}));

  EXPECT_EQ(ResolveNow(resolver.get(), "v6only.test").addresses,
            Addresses{"::1"});
  EXPECT_EQ(ResolveNow(resolver.get(), "alias.test").addresses,
            (Addresses{"127.0.0.2", "2001:db8::2"}));
}

TEST_F(ResolverTest, NxdomainAndServerErrors) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  ResolveAnswer missing = ResolveNow(resolver.get(), "missing.test");
  EXPECT_EQ(missing.status.message(), "NXDOMAIN");
  EXPECT_TRUE(missing.addresses.empty());

  QueryAnswer nx = QueryNow(resolver.get(), "missing.test", "A");
  EXPECT_EQ(nx.status.message(), "NXDOMAIN");
  EXPECT_EQ(nx.rcode, 3);

  QueryAnswer nodata = QueryNow(resolver.get(), "svc.test", "MX");
  EXPECT_EQ(nodata.status.message(), "no MX records");
  EXPECT_EQ(nodata.rcode, 0);

  QueryAnswer servfail = QueryNow(resolver.get(), "servfail.test", "A");
  EXPECT_EQ(servfail.status.message(), "SERVFAIL");
  EXPECT_EQ(servfail.rcode, 2);

  QueryAnswer refused = QueryNow(resolver.get(), "refused.test", "A");
  EXPECT_EQ(refused.status.message(), "REFUSED");
  EXPECT_EQ(refused.rcode, 5);
}

TEST_F(ResolverTest, QueriesEveryRecordType) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  const std::vector<std::tuple<std::string, std::string, Addresses>> cases = {
      {"svc.test", "A", {"127.0.0.2"}},
      {"svc.test", "aaaa", {"2001:db8::2"}},
      {"alias.test", "CNAME", {"svc.test"}},
      {"alias.test", "A", {"127.0.0.2"}},
      {"mail.test", "MX", {"10 mx1.test", "20 mx2.test"}},
      {"txt.test", "TXT", {"v=spf1 -all", "hello world"}},
      {"_http._tcp.test", "SRV", {"10 5 8080 svc.test"}},
      {"test", "NS", {"ns1.test", "ns2.test"}},
      {"2.0.0.127.in-addr.arpa", "PTR", {"svc.test"}},
  };
  for (const auto& [name, type, want] : cases) {
    QueryAnswer answer = QueryNow(resolver.get(), name, type);
    ASSERT_TRUE(answer.status.ok())
        << name << " " << type << ": " << answer.status.ToString();
    Addresses got = answer.records;
    std::sort(got.begin(), got.end());
    Addresses sorted = want;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(got, sorted) << name << " " << type;
    EXPECT_EQ(answer.rcode, 0);
  }
  std::optional<QueryAnswer> bad;
  resolver->Query("svc.test", "HINFO", [&](const QueryAnswer& a) { bad = a; });
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status.message(), "unsupported record type \"HINFO\"");
}

// tests/faults/dns_test.cc: a CNAME loop was "no A records", as if the name
// had no address rather than an alias chain that never ends.
TEST_F(ResolverTest, ACnameLoopIsNamedInOneQuery) {
  auto resolver = Make(StartServer(
      {"--record", "l1.test CNAME 60 l2.test", "--record",
       "l2.test CNAME 60 l3.test", "--record", "l3.test CNAME 60 l4.test",
       "--record", "l4.test CNAME 60 l5.test", "--record",
       "l5.test CNAME 60 l1.test", "--record",
       "dangling.test CNAME 60 elsewhere.example"}));
  ASSERT_NE(resolver, nullptr);
  QueryAnswer loop = QueryNow(resolver.get(), "Loop1.test.", "A", false);
  EXPECT_EQ(loop.status.message(),
            "CNAME loop: loop1.test -> loop2.test -> loop1.test");
  EXPECT_EQ(loop.rcode, 0);
  // c-ares chases nothing: one query, none for the names of the chain.
  EXPECT_EQ(Queries("loop1.test A"), 1);
  EXPECT_EQ(Queries("loop2.test A"), 0);
  EXPECT_EQ(QueryNow(resolver.get(), "l1.test", "AAAA", false).status.message(),
            "CNAME loop of 5 names through l1.test");
  // The CNAME itself is an answer; an alias to nothing here is no loop.
  QueryAnswer cname = QueryNow(resolver.get(), "loop1.test", "CNAME", false);
  EXPECT_TRUE(cname.status.ok());
  EXPECT_EQ(cname.records, Addresses{"loop2.test"});
  EXPECT_EQ(
      QueryNow(resolver.get(), "dangling.test", "A", false).status.message(),
      "no A records");
}

TEST_F(ResolverTest, AZeroTtlIsNeverCached) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  for (int i = 0; i < 3; ++i) {
    QueryAnswer answer = QueryNow(resolver.get(), "zero.test", "A");
    ASSERT_TRUE(answer.status.ok()) << answer.status.ToString();
    EXPECT_FALSE(answer.from_cache);
    ResolveAnswer address = ResolveNow(resolver.get(), "zero.test");
    ASSERT_TRUE(address.status.ok()) << address.status.ToString();
    EXPECT_EQ(address.addresses, Addresses{"127.0.0.8"});
    EXPECT_FALSE(address.from_cache);
  }
  // Query and Resolve asked A each time; Resolve also AAAA (an empty
  // NOERROR: cached as "no records" for 5 s, but Resolve asks both).
  EXPECT_EQ(Queries("zero.test A"), 6);
}

TEST_F(ResolverTest, CacheHitsDoNotAskTheServer) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  ASSERT_TRUE(ResolveNow(resolver.get(), "svc.test").status.ok());
  EXPECT_EQ(Queries("svc.test A"), 1);
  EXPECT_EQ(Queries("svc.test AAAA"), 1);

  std::optional<ResolveAnswer> cached;
  resolver->Resolve("SVC.test", [&](const ResolveAnswer& a) { cached = a; });
  ASSERT_TRUE(cached.has_value()) << "cache hits answer before returning";
  EXPECT_TRUE(cached->from_cache);
  EXPECT_EQ(cached->lookup_time, Duration::zero());
  EXPECT_EQ(cached->addresses, (Addresses{"127.0.0.2", "2001:db8::2"}));

  // Queries are cached per type, apart from address resolution.
  EXPECT_FALSE(QueryNow(resolver.get(), "svc.test", "A").from_cache);
  EXPECT_TRUE(QueryNow(resolver.get(), "svc.test", "A").from_cache);
  EXPECT_EQ(Queries("svc.test A"), 2);

  // Uncached queries always reach the server.
  QueryAnswer fresh = QueryNow(resolver.get(), "svc.test", "A", false);
  EXPECT_FALSE(fresh.from_cache);
  EXPECT_EQ(fresh.records, Addresses{"127.0.0.2"});
  QueryNow(resolver.get(), "svc.test", "A", false);
  EXPECT_EQ(Queries("svc.test A"), 4);

  // Negative answers are cached too.
  EXPECT_FALSE(QueryNow(resolver.get(), "gone.test", "A").from_cache);
  QueryAnswer again = QueryNow(resolver.get(), "gone.test", "A");
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.status.message(), "NXDOMAIN");
  EXPECT_EQ(Queries("gone.test A"), 1);

  // Server failures are not.
  QueryNow(resolver.get(), "servfail.test", "A");
  EXPECT_FALSE(QueryNow(resolver.get(), "servfail.test", "A").from_cache);
  EXPECT_EQ(Queries("servfail.test A"), 2);
}

TEST_F(ResolverTest, ExpiredEntriesAreAskedAgain) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  // short.test has a TTL of 1s; the cache reads the loop's real clock.
  QueryAnswer first = QueryNow(resolver.get(), "short.test", "A");
  ASSERT_TRUE(first.status.ok());
  const TimePoint answered = loop_.Now();
  QueryAnswer second = QueryNow(resolver.get(), "short.test", "A");
  if (loop_.Now() - answered < milliseconds(900)) {
    EXPECT_TRUE(second.from_cache);
  }
  bool refreshed = false;
  const TimePoint deadline = loop_.Now() + seconds(15);
  while (!refreshed && loop_.Now() < deadline) {
    loop_.RunOnce(milliseconds(50));
    refreshed = !QueryNow(resolver.get(), "short.test", "A").from_cache;
  }
  EXPECT_TRUE(refreshed);
  EXPECT_GE(loop_.Now() - answered, seconds(1));
  EXPECT_EQ(Queries("short.test A"), second.from_cache ? 2 : 3);
}

TEST_F(ResolverTest, SilentServerTimesOutOnCaresTimer) {
  ResolverOptions quick;
  quick.attempt_timeout = milliseconds(200);
  quick.tries = 2;
  auto resolver = Make(StartServer({"--mode", "silent"}), quick);
  ASSERT_NE(resolver, nullptr);
  QueryAnswer answer = QueryNow(resolver.get(), "svc.test", "A");
  EXPECT_EQ(answer.status.message(), "DNS server timed out");
  EXPECT_EQ(answer.rcode, -1);
  // 200ms, then 400ms for the second try.
  EXPECT_GE(answer.lookup_time, milliseconds(500));
  EXPECT_EQ(Queries("svc.test A"), 2);
  // Nothing left in flight: c-ares' timer is disarmed.
  EXPECT_EQ(loop_.pending_timers(), 0u);
  // Timeouts are not cached.
  ResolveAnswer resolved = ResolveNow(resolver.get(), "svc.test");
  EXPECT_EQ(resolved.status.message(), "DNS server timed out");
  EXPECT_FALSE(resolved.from_cache);
}

TEST_F(ResolverTest, UnansweredNameTimesOut) {
  ResolverOptions quick;
  quick.attempt_timeout = milliseconds(200);
  auto resolver = Make(StartServer(), quick);
  ASSERT_NE(resolver, nullptr);
  EXPECT_EQ(QueryNow(resolver.get(), "blackhole.test", "A").status.message(),
            "DNS server timed out");
  // The server itself still answers.
  EXPECT_TRUE(QueryNow(resolver.get(), "svc.test", "A").status.ok());
}

TEST_F(ResolverTest, CancelledCallbacksAreNeverCalled) {
  ResolverOptions quick;
  quick.attempt_timeout = milliseconds(200);
  auto resolver = Make(StartServer(), quick);
  ASSERT_NE(resolver, nullptr);
  int silent_calls = 0;
  Resolver::RequestId id = resolver->Resolve(
      "blackhole.test", [&](const ResolveAnswer&) { ++silent_calls; });
  resolver->Cancel(id);
  // Two identical requests share one lookup; cancelling one keeps the other.
  int cancelled_calls = 0;
  std::optional<QueryAnswer> kept;
  Resolver::RequestId first = resolver->Query(
      "multi.test", "A", [&](const QueryAnswer&) { ++cancelled_calls; });
  resolver->Query("multi.test", "A", [&](const QueryAnswer& a) { kept = a; });
  resolver->Cancel(first);
  resolver->Cancel(987654);  // unknown: ignored
  ASSERT_TRUE(RunUntil([&] { return kept.has_value(); }));
  EXPECT_TRUE(kept->status.ok());
  EXPECT_EQ(Queries("multi.test A"), 1);
  // Once c-ares gives up on the black hole its timer is disarmed.
  ASSERT_TRUE(RunUntil([&] { return loop_.pending_timers() == 0; }));
  EXPECT_EQ(silent_calls, 0);
  EXPECT_EQ(cancelled_calls, 0);
}

TEST_F(ResolverTest, ManyConcurrentLookups) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  constexpr int kEach = 100;
  int ok_fresh = 0;
  int ok_shared = 0;
  int nxdomain = 0;
  int calls = 0;
  for (int i = 0; i < kEach; ++i) {
    resolver->QueryUncached("svc.test", "A", [&](const QueryAnswer& a) {
      ++calls;
      ok_fresh += a.status.ok() && a.records == Addresses{"127.0.0.2"};
    });
    resolver->Resolve("multi.test", [&](const ResolveAnswer& a) {
      ++calls;
      ok_shared += a.status.ok() && a.addresses.size() == 2;
    });
    resolver->Query("n" + std::to_string(i) + ".test", "A",
                    [&](const QueryAnswer& a) {
                      ++calls;
                      nxdomain += a.status.message() == "NXDOMAIN";
                    });
  }
  ASSERT_TRUE(RunUntil([&] { return calls == 3 * kEach; }, seconds(30)))
      << calls;
  EXPECT_EQ(ok_fresh, kEach);
  EXPECT_EQ(ok_shared, kEach);
  EXPECT_EQ(nxdomain, kEach);
  EXPECT_EQ(Queries("svc.test A"), kEach);
  EXPECT_EQ(Queries("multi.test A"), 1);
}

TEST_F(ResolverTest, DestroyingWithLookupsInFlightCallsNothing) {
  // The loop watches an fd of its own (its task queue): not the resolver's.
  std::vector<bool> the_loops(1024);
  for (int fd = 0; fd < 1024; ++fd) the_loops[fd] = loop_.IsWatched(fd);
  auto resolver = Make(StartServer({"--mode", "silent"}));
  ASSERT_NE(resolver, nullptr);
  int calls = 0;
  for (int i = 0; i < 10; ++i) {
    resolver->Resolve("n" + std::to_string(i) + ".test",
                      [&](const ResolveAnswer&) { ++calls; });
    resolver->Query("svc.test", "MX", [&](const QueryAnswer&) { ++calls; });
  }
  ASSERT_TRUE(RunUntil([&] { return Queries("n9.test A") == 1; }));
  std::vector<int> watched;
  for (int fd = 0; fd < 1024; ++fd) {
    if (loop_.IsWatched(fd) && !the_loops[fd]) watched.push_back(fd);
  }
  ASSERT_FALSE(watched.empty());
  resolver.reset();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(loop_.pending_timers(), 0u);
  for (int fd : watched) EXPECT_FALSE(loop_.IsWatched(fd)) << fd;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(loop_.RunOnce(milliseconds(50)), 0);
}

TEST_F(ResolverTest, ACallbackMayDestroyTheResolver) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  int calls = 0;
  auto destroy = [&](const QueryAnswer&) {
    ++calls;
    resolver.reset();
  };
  resolver->Query("svc.test", "A", destroy);
  resolver->Query("multi.test", "A", destroy);
  resolver->Query("mail.test", "MX", destroy);
  ASSERT_TRUE(RunUntil([&] { return resolver == nullptr; }));
  for (int i = 0; i < 3; ++i) loop_.RunOnce(milliseconds(50));
  EXPECT_EQ(calls, 1);
}

// A callback may cancel requests still waiting (their callbacks never run)
// and start new ones: a cache hit or an IP literal is answered inside it,
// a new name later.
TEST_F(ResolverTest, ACallbackMayCancelOtherRequestsAndStartNewOnes) {
  auto resolver = Make(StartServer());
  ASSERT_NE(resolver, nullptr);
  std::vector<Resolver::RequestId> ids;
  int first_calls = 0;
  int nested_calls = 0;
  std::optional<ResolveAnswer> later;
  auto first = [&](const std::string& name, const std::string& type) {
    return [&, name, type](const QueryAnswer& a) {
      ++first_calls;
      EXPECT_TRUE(a.status.ok()) << a.status.ToString();
      for (Resolver::RequestId id : ids) resolver->Cancel(id);
      resolver->Query(name, type, [&](const QueryAnswer& cached) {
        ++nested_calls;
        EXPECT_TRUE(cached.from_cache);
      });
      resolver->Resolve("127.0.0.1",
                        [&](const ResolveAnswer&) { ++nested_calls; });
      resolver->Resolve("alias.test",
                        [&](const ResolveAnswer& r) { later = r; });
    };
  };
  ids.push_back(resolver->Query("svc.test", "A", first("svc.test", "A")));
  ids.push_back(resolver->Query("multi.test", "A", first("multi.test", "A")));
  ids.push_back(resolver->Query("mail.test", "MX", first("mail.test", "MX")));
  ASSERT_TRUE(RunUntil([&] { return later.has_value(); }));
  EXPECT_EQ(first_calls, 1);
  EXPECT_EQ(nested_calls, 2);
  EXPECT_TRUE(later->status.ok()) << later->status.ToString();
  for (int i = 0; i < 3; ++i) loop_.RunOnce(milliseconds(50));
  EXPECT_EQ(first_calls, 1);
}

// Every way a callback is called allows it to destroy the Resolver: before
// Resolve returns (IP literal, /etc/hosts, cache hit), from a socket event,
// from c-ares' timer, and from a request started inside another callback.
TEST_F(ResolverTest, ACallbackMayDestroyTheResolverOnEveryPath) {
  const std::string server = StartServer();
  ResolverOptions quick;
  quick.attempt_timeout = milliseconds(100);
  quick.tries = 1;
  std::unique_ptr<Resolver> resolver;
  int calls = 0;
  auto destroy = [&](const auto&) {
    ++calls;
    resolver.reset();
  };

  for (const char* host : {"127.0.0.1", "localhost"}) {
    resolver = Make(server);
    calls = 0;
    resolver->Resolve(host, destroy);
    EXPECT_EQ(resolver, nullptr) << host;
    EXPECT_EQ(calls, 1) << host;
  }

  resolver = Make(server);
  calls = 0;
  QueryNow(resolver.get(), "svc.test", "A");
  resolver->Query("svc.test", "A", destroy);
  EXPECT_EQ(resolver, nullptr) << "cache hit";

  resolver = Make(server, quick);
  calls = 0;
  resolver->Query("blackhole.test", "A", destroy);
  resolver->Query("blackhole.test", "AAAA", destroy);
  ASSERT_TRUE(RunUntil([&] { return resolver == nullptr; })) << "timeout";
  EXPECT_EQ(calls, 1);

  // The outer callback returns into the delivery of its batch, which must
  // see that the Resolver is gone and call nothing else.
  resolver = Make(server);
  calls = 0;
  QueryNow(resolver.get(), "svc.test", "A");
  auto nested = [&](const QueryAnswer&) {
    ++calls;
    resolver->Query("svc.test", "A", destroy);
  };
  resolver->QueryUncached("svc.test", "A", nested);
  resolver->QueryUncached("svc.test", "A", nested);
  ASSERT_TRUE(RunUntil([&] { return resolver == nullptr; })) << "nested";
  EXPECT_EQ(calls, 2);

  for (int i = 0; i < 3; ++i) loop_.RunOnce(milliseconds(50));
  EXPECT_EQ(loop_.pending_timers(), 0u);
}

// A pool's resolvers live as long as the pool, and one of their callbacks
// may destroy it.
TEST_F(ResolverTest, ACallbackMayDestroyThePoolOfItsResolver) {
  const std::string server = StartServer();
  auto pool = std::make_unique<ResolverPool>(&loop_);
  Result<Resolver*> resolver = pool->Get(server);
  ASSERT_TRUE(resolver.ok()) << resolver.status().ToString();
  EXPECT_EQ(*pool->Get(server), *resolver) << "one per server";
  int calls = 0;
  auto destroy = [&](const QueryAnswer&) {
    ++calls;
    pool.reset();
  };
  (*resolver)->Query("svc.test", "A", destroy);
  (*resolver)->Query("multi.test", "A", destroy);
  ASSERT_TRUE(RunUntil([&] { return pool == nullptr; }));
  for (int i = 0; i < 3; ++i) loop_.RunOnce(milliseconds(50));
  EXPECT_EQ(calls, 1);
}

TEST_F(ResolverTest, HostsFileNamesNeedNoServer) {
  auto resolver = Make(StartServer({"--mode", "silent"}));
  ASSERT_NE(resolver, nullptr);
  std::optional<ResolveAnswer> answer;
  resolver->Resolve("localhost", [&](const ResolveAnswer& a) { answer = a; });
  ASSERT_TRUE(answer.has_value()) << "answered before Resolve returned";
  ASSERT_TRUE(answer->status.ok()) << answer->status.ToString();
  ASSERT_FALSE(answer->addresses.empty());
  EXPECT_EQ(answer->addresses.front(), "127.0.0.1");
  EXPECT_EQ(Queries("localhost A"), 0);
}

TEST_F(ResolverTest, ClosedServerPortIsRefused) {
  const int port = FreePort(/*udp=*/true);
  auto resolver = Make("127.0.0.1:" + std::to_string(port));
  ASSERT_NE(resolver, nullptr);
  QueryAnswer answer = QueryNow(resolver.get(), "svc.test", "A");
  EXPECT_EQ(answer.status.message(), "DNS server refused");
  EXPECT_EQ(answer.rcode, -1);
}

TEST_F(ResolverTest, Ipv6Server) {
  auto resolver = Make(StartServer({}, "::1"));
  ASSERT_NE(resolver, nullptr);
  EXPECT_EQ(QueryNow(resolver.get(), "svc.test", "A").records,
            Addresses{"127.0.0.2"});
}

TEST_F(ResolverTest, RejectsBadServers) {
  for (const char* server :
       {"dns.example.org", "127.0.0.1:0", "127.0.0.1:99999", "127.0.0.1:x",
        "[::1", "[::1]x", "::1:53:zz"}) {
    EXPECT_FALSE(Resolver::Create(&loop_, std::string(server)).ok()) << server;
  }
  for (const char* server :
       {"127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53"}) {
    EXPECT_TRUE(Resolver::Create(&loop_, std::string(server)).ok()) << server;
  }
}

TEST_F(ResolverTest, RealDnsmasq) {
  // The port may be taken between FreePort and dnsmasq's bind (tests run in
  // parallel): then dnsmasq exits, and the test starts it on another.
  Subprocess dnsmasq;
  std::unique_ptr<Resolver> resolver;
  QueryAnswer answer;
  bool answered = false;
  for (int attempt = 0; attempt < 3 && !answered; ++attempt) {
    dnsmasq.Stop();
    const int port = FreePort(/*udp=*/true);
    ASSERT_TRUE(dnsmasq.Start(
        {"dnsmasq", "--no-daemon", "--port=" + std::to_string(port),
         "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
         "--no-hosts", "--user=root", "--pid-file=", "-C", "/dev/null",
         "--host-record=svc.test,127.0.0.2", "--mx-host=mail.test,mx1.test,10"},
        dir_.File("dnsmasq.log")));
    resolver = Make("127.0.0.1:" + std::to_string(port));
    ASSERT_NE(resolver, nullptr);
    // dnsmasq binds asynchronously: ask until it answers or exits.
    answer = QueryNow(resolver.get(), "svc.test", "A", false);
    const TimePoint deadline = loop_.Now() + seconds(20);
    while (!answer.status.ok() && dnsmasq.running() && loop_.Now() < deadline) {
      loop_.RunOnce(milliseconds(100));
      answer = QueryNow(resolver.get(), "svc.test", "A", false);
    }
    answered = answer.status.ok();
  }
  ASSERT_TRUE(answered) << answer.status.ToString() << "\n"
                        << testing::ReadFile(dir_.File("dnsmasq.log"));
  EXPECT_EQ(answer.records, Addresses{"127.0.0.2"});
  EXPECT_EQ(ResolveNow(resolver.get(), "svc.test").addresses,
            Addresses{"127.0.0.2"});
  EXPECT_EQ(QueryNow(resolver.get(), "mail.test", "MX").records,
            Addresses{"10 mx1.test"});
}

// fuzz/regressions/dns/srv-target-bad-label: c-ares' SRV parser said
// EBADNAME ("bad DNS name") for a target name with a reserved label type.
TEST(AresReplyTest, FuzzCrashSrvTargetWithBadLabelIsBadResponse) {
  const unsigned char reply[] =
      "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"  // header
      "\x01x\x00\x00\x21\x00\x01"                         // x SRV IN
      "\xc0\x0c\x00\x21\x00\x01\x00\x00\x00\x3c\x00\x08"  // SRV TTL 60
      "\x00\x0a\x00\x05\x1f\x90\x41\x00";  // 10 5 8080, label 0x41
  DnsReply out;
  EXPECT_EQ(ParseDnsReply(reply, sizeof(reply) - 1, DnsTypeCode("SRV"), &out),
            ARES_EBADRESP);
}

}  // namespace
}  // namespace watchd
