#include "daemon/probe_factory.h"

#include "net/resolver_pool.h"
#include "probes/dns_probe.h"
#include "probes/exec_probe.h"
#include "probes/http_probe.h"
#include "probes/memory_probe.h"
#include "probes/process_probe.h"
#include "probes/tcp_probe.h"

namespace watchd {
namespace {

struct Maker {
  const ProbeEnv& env;

  Result<std::unique_ptr<Probe>> operator()(const HttpProbeConfig& c) const {
    auto resolver = env.resolvers->Get(std::nullopt);
    if (!resolver.ok()) return resolver.status();
    return std::unique_ptr<Probe>(
        std::make_unique<HttpProbe>(c, env.curl, *resolver, env.sockets));
  }
  Result<std::unique_ptr<Probe>> operator()(const TcpProbeConfig& c) const {
    auto resolver = env.resolvers->Get(std::nullopt);
    if (!resolver.ok()) return resolver.status();
    return std::unique_ptr<Probe>(
        std::make_unique<TcpProbe>(c, env.loop, *resolver));
  }
  Result<std::unique_ptr<Probe>> operator()(const DnsProbeConfig& c) const {
    auto resolver = env.resolvers->Get(c.server);
    if (!resolver.ok()) return resolver.status();
    return std::unique_ptr<Probe>(std::make_unique<DnsProbe>(c, *resolver));
  }
  Result<std::unique_ptr<Probe>> operator()(const ExecProbeConfig& c) const {
    return std::unique_ptr<Probe>(std::make_unique<ExecProbe>(c, env.loop));
  }
  Result<std::unique_ptr<Probe>> operator()(const ProcessProbeConfig&) const {
    return std::unique_ptr<Probe>(std::make_unique<ProcessProbe>(env.process));
  }
  Result<std::unique_ptr<Probe>> operator()(const MemoryProbeConfig& c) const {
    return std::unique_ptr<Probe>(
        std::make_unique<MemoryProbe>(c, env.process));
  }
};

}  // namespace

Result<std::unique_ptr<Probe>> MakeProbe(const ProbeConfig& config,
                                         const ProbeEnv& env) {
  return std::visit(Maker{env}, config);
}

}  // namespace watchd
