// Asynchronous DNS on the event loop through c-ares: host-name resolution
// for http/tcp probes and raw queries for dns probes. Answers are cached for
// their TTL. Nothing here blocks the loop.
#ifndef WATCHD_NET_RESOLVER_H_
#define WATCHD_NET_RESOLVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace watchd {

class EventLoop;

struct ResolveAnswer {
  // Not ok on any failure; the message is short and human ("NXDOMAIN",
  // "no answer", "server timed out", "refused", ...).
  Status status;
  std::vector<std::string> addresses;  // textual IPv4/IPv6, resolution order
  Duration lookup_time{0};             // 0 when served from the cache
  bool from_cache = false;
};

struct QueryAnswer {
  Status status;
  int rcode = 0;                       // DNS rcode (3 = NXDOMAIN)
  std::vector<std::string> records;    // rdata as text ("1.2.3.4", "10 mx.")
  Duration lookup_time{0};
  bool from_cache = false;
};

class Resolver {
 public:
  using ResolveCallback = std::function<void(const ResolveAnswer&)>;
  using QueryCallback = std::function<void(const QueryAnswer&)>;
  using RequestId = uint64_t;

  // server: "host:port" or "host" (IP literals) to ask instead of
  // /etc/resolv.conf's servers.
  static Result<std::unique_ptr<Resolver>> Create(
      EventLoop* loop, const std::optional<std::string>& server = {});
  virtual ~Resolver() = default;

  // IP literals answer at once (callback before return) with no lookup.
  // Other names: callback later, on the loop, exactly once unless cancelled.
  virtual RequestId Resolve(const std::string& host, ResolveCallback cb) = 0;
  // type: "A", "AAAA", "CNAME", "MX", "NS", "TXT", "SRV", "PTR".
  virtual RequestId Query(const std::string& name, const std::string& type,
                          QueryCallback cb) = 0;
  // The callback of `id` will not be called. Unknown ids are ignored.
  virtual void Cancel(RequestId id) = 0;
};

}  // namespace watchd

#endif  // WATCHD_NET_RESOLVER_H_
