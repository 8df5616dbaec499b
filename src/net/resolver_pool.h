// One Resolver per distinct DNS server, made on first use: dns probes may
// name their own server, everything else shares the system's. The resolvers
// live as long as the pool, which one of their callbacks may destroy.
#ifndef WATCHD_NET_RESOLVER_POOL_H_
#define WATCHD_NET_RESOLVER_POOL_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"
#include "net/resolver.h"

namespace watchd {

class EventLoop;

class ResolverPool {
 public:
  explicit ResolverPool(EventLoop* loop) : loop_(loop) {}

  // server: "host:port"/"host", or nullopt for /etc/resolv.conf's servers.
  Result<Resolver*> Get(const std::optional<std::string>& server);

 private:
  EventLoop* loop_;
  std::map<std::string, std::unique_ptr<Resolver>> resolvers_;
};

}  // namespace watchd

#endif  // WATCHD_NET_RESOLVER_POOL_H_
