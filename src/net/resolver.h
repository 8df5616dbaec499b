// Asynchronous DNS on the event loop through c-ares: host-name resolution
// for http/tcp probes and raw queries for dns probes. Answers are cached for
// their TTL. Nothing here blocks the loop.
//
// Callbacks: never from inside c-ares (its answers are queued and delivered
// after it returns); a callback may cancel any request, start new ones (a
// cache hit is then answered inside it) or destroy the Resolver.
#ifndef WATCHD_NET_RESOLVER_H_
#define WATCHD_NET_RESOLVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace watchd {

class EventLoop;

struct ResolveAnswer {
  // Not ok on any failure; the message is short and human ("NXDOMAIN",
  // "no A/AAAA records", "DNS server timed out", "DNS server refused",
  // "SERVFAIL", "REFUSED", ...).
  Status status;
  // Textual IPv4/IPv6, IPv4 first: services listening on 0.0.0.0 only are
  // common, and "localhost" is often both 127.0.0.1 and ::1.
  std::vector<std::string> addresses;
  Duration lookup_time{0};  // 0 when served from the cache
  bool from_cache = false;
};

struct QueryAnswer {
  // As in ResolveAnswer; no records: "no MX records"; none but CNAMEs that
  // loop: "CNAME loop: a.example -> b.example -> a.example".
  Status status;
  int rcode = 0;  // DNS rcode (3 = NXDOMAIN); -1 when no reply came
  // rdata as text, names without the final dot: A "1.2.3.4", AAAA "::1",
  // CNAME/NS/PTR "host.example", MX "10 mx.example", SRV "prio weight port
  // target", TXT the record's strings concatenated.
  std::vector<std::string> records;
  Duration lookup_time{0};
  bool from_cache = false;
};

// How hard c-ares tries one server: each attempt waits `attempt_timeout`,
// doubled on every round over the servers (defaults: 1s + 2s).
struct ResolverOptions {
  Duration attempt_timeout = std::chrono::seconds(1);
  int tries = 2;
};

class Resolver {
 public:
  using ResolveCallback = std::function<void(const ResolveAnswer&)>;
  using QueryCallback = std::function<void(const QueryAnswer&)>;
  using RequestId = uint64_t;

  // server: "host:port" or "host" (IP literals; "[v6]:port") to ask
  // instead of /etc/resolv.conf's servers; its SERVFAIL and REFUSED answers
  // are reported as such, while with the system's servers c-ares tries the
  // next one and reports "DNS server refused" when all fail. `loop` must
  // outlive the Resolver.
  static Result<std::unique_ptr<Resolver>> Create(
      EventLoop* loop, const std::optional<std::string>& server = {},
      const ResolverOptions& options = {});
  // Requests in flight are dropped without calling their callbacks; one of
  // its own callbacks may destroy the Resolver.
  virtual ~Resolver() = default;

  // The callback runs exactly once unless cancelled: before Resolve returns
  // for IP literals ("[::1]" too), cache hits and /etc/hosts names, else
  // later on the loop. Positive answers are cached for their TTL (at most
  // 1h), NXDOMAIN and "no records" for 5s, server failures not at all.
  virtual RequestId Resolve(const std::string& host, ResolveCallback cb) = 0;
  // type: "A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR". The name is
  // asked as given (no search domains). Cached and called back as Resolve.
  virtual RequestId Query(const std::string& name, const std::string& type,
                          QueryCallback cb) = 0;
  // Like Query but always asks the server (a dns probe tests the server,
  // not the cache); its answer still refreshes the cache. Resolvers without
  // a cache need not override it.
  virtual RequestId QueryUncached(const std::string& name,
                                  const std::string& type, QueryCallback cb) {
    return Query(name, type, std::move(cb));
  }
  // The callback of `id` will not be called. Unknown ids are ignored.
  virtual void Cancel(RequestId id) = 0;
};

}  // namespace watchd

#endif  // WATCHD_NET_RESOLVER_H_
