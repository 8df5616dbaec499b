// A dns probe: asks the resolver's server for the records of one type of a
// name and passes when at least one came back and every expected record is
// among them. It never reads the cache (that would test the cache, not the
// server) though its answers refresh it for other probes.
#ifndef WATCHD_PROBES_DNS_PROBE_H_
#define WATCHD_PROBES_DNS_PROBE_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "config/config.h"
#include "net/resolver.h"
#include "probes/probe.h"

namespace watchd {

class DnsProbe : public Probe {
 public:
  // `resolver` already targets config.server (or the system's servers) and
  // outlives the probe. A server that never answers leaves the run in
  // flight until the resolver's own timeout ("DNS server timed out") or the
  // Check's, whichever comes first. `done` may run before Start returns (an
  // unsupported type); the probe is not touched after it, so it may start
  // the next run, cancel or destroy the probe.
  DnsProbe(const DnsProbeConfig& config, Resolver* resolver);
  ~DnsProbe() override { Cancel(); }

  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;

 private:
  void OnAnswer(const QueryAnswer& answer);
  ProbeResult Judge(const QueryAnswer& answer) const;

  DnsProbeConfig config_;
  Resolver* resolver_;
  bool running_ = false;
  uint64_t runs_ = 0;
  std::optional<Resolver::RequestId> request_;
  DoneCallback done_;
  // Expires with the probe: a `done` callback may destroy it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace watchd

#endif  // WATCHD_PROBES_DNS_PROBE_H_
