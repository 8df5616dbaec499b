// A tcp probe: a non-blocking connect to host:port (the host resolved
// through the Resolver, IP literals at once), then optionally `send` written
// and what comes back read until `expect` matches. Without send/expect it
// passes once connected. Connections close with a reset once the run is
// over, so watchd keeps no TIME_WAIT per run.
#ifndef WATCHD_PROBES_TCP_PROBE_H_
#define WATCHD_PROBES_TCP_PROBE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/expect_regex.h"
#include "net/resolver.h"
#include "probes/probe.h"

namespace watchd {

class EventLoop;

class TcpProbe : public Probe {
 public:
  // At most this much of the response is read while looking for `expect`.
  static constexpr size_t kMaxRead = 64 * 1024;

  // `loop` and `resolver` outlive the probe. The addresses of a name are
  // tried in the resolver's order (IPv4 first) until one connects; a peer
  // that never completes the handshake leaves the run in flight until the
  // Check cancels it. `done` may run before Start returns (IP literals,
  // cached names); the probe is not touched after it, so it may start the
  // next run, cancel or destroy the probe.
  TcpProbe(const TcpProbeConfig& config, EventLoop* loop, Resolver* resolver);
  ~TcpProbe() override { Cancel(); }

  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;

 private:
  enum class State { kIdle, kResolving, kConnecting, kSending, kReading };

  void OnResolved(const ResolveAnswer& answer);
  void ConnectNext();
  void OnReady(uint32_t events);
  void OnConnected();
  void Send();
  void AfterSend();
  void Receive();
  bool WatchFor(uint32_t events);
  void CloseSocket();
  void Finish(ProbeResult result);
  std::string NotFound() const;

  TcpProbeConfig config_;
  EventLoop* loop_;
  Resolver* resolver_;
  std::optional<ExpectRegex> expect_;
  std::string expect_error_;

  State state_ = State::kIdle;
  uint64_t runs_ = 0;
  std::optional<Resolver::RequestId> request_;
  std::vector<std::string> addresses_;
  size_t next_address_ = 0;
  std::string first_error_;
  std::string peer_;  // "127.0.0.1:80", "[::1]:80"
  int fd_ = -1;
  bool connected_ = false;  // fd_ completed its handshake
  uint32_t watching_ = 0;
  size_t sent_ = 0;
  std::string received_;
  DoneCallback done_;
  // Expires with the probe: a `done` callback may destroy it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace watchd

#endif  // WATCHD_PROBES_TCP_PROBE_H_
