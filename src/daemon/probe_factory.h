// Builds the Probe for a check's configuration from the loop's shared
// services (curl multi handle, resolvers).
#ifndef WATCHD_DAEMON_PROBE_FACTORY_H_
#define WATCHD_DAEMON_PROBE_FACTORY_H_

#include <memory>

#include "config/config.h"
#include "core/status.h"
#include "probes/probe.h"

namespace watchd {

class EventLoop;
class CurlMulti;
class ProcessSource;
class ResolverPool;
class SocketPool;

struct ProbeEnv {
  EventLoop* loop = nullptr;
  CurlMulti* curl = nullptr;
  ResolverPool* resolvers = nullptr;
  // The service's process, for process and memory probes.
  ProcessSource* process = nullptr;
  SocketPool* sockets = nullptr;  // reused by plain-http probes
};

Result<std::unique_ptr<Probe>> MakeProbe(const ProbeConfig& config,
                                         const ProbeEnv& env);

}  // namespace watchd

#endif  // WATCHD_DAEMON_PROBE_FACTORY_H_
