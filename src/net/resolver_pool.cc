#include "net/resolver_pool.h"

namespace watchd {

Result<Resolver*> ResolverPool::Get(const std::optional<std::string>& server) {
  // "" cannot be a server, so it keys the system resolver.
  const std::string key = server.value_or("");
  auto it = resolvers_.find(key);
  if (it != resolvers_.end()) return it->second.get();
  auto created = Resolver::Create(loop_, server);
  if (!created.ok()) return created.status();
  Resolver* resolver = created->get();
  resolvers_.emplace(key, std::move(created).value());
  return resolver;
}

}  // namespace watchd
