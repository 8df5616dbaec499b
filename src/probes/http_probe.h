// The `http` probe: one HTTP(S) request, host names resolved by c-ares,
// verdict from the status code and an optional body regex. Plain http on a
// fresh connection (the default) goes through HttpExchange, watchd's own
// HTTP/1.1 client, at half libcurl's CPU; https, reused connections and URLs
// with credentials go through the shared CurlMulti. https runs whose
// handshake happened (or whose reused connection had one) report the
// earliest expiry of the peer's certificate chain.
//
// Choices: redirects are not followed (a 3xx is the answer); proxies from
// the environment are ignored; bodies are read up to max_body_bytes, beyond
// which the transfer is cut and the verdict uses the prefix read; a run gives
// up a little after the advisory timeout in case nobody cancels.
//
// `done` may run before Start returns (a bad URL, a connection refused at
// once, a resolver answer at hand, which is held until Resolve returns);
// the probe is not touched after it, so it may start the next run, cancel
// or destroy the probe.
#ifndef WATCHD_PROBES_HTTP_PROBE_H_
#define WATCHD_PROBES_HTTP_PROBE_H_

#include <curl/curl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/expect_regex.h"
#include "net/http_exchange.h"
#include "net/resolver.h"
#include "probes/probe.h"

namespace watchd {

class CurlMulti;
class SocketPool;

class HttpProbe : public Probe {
 public:
  // multi and resolver must outlive the probe; the resolver is asked only
  // for host names, never for IP literals. A bad URL or expect_body is
  // reported by every run as an error.
  // Plain-http runs reuse sockets from `sockets` when given (it must
  // outlive the probe too).
  HttpProbe(const HttpProbeConfig& config, CurlMulti* multi, Resolver* resolver,
            SocketPool* sockets = nullptr);
  ~HttpProbe() override;
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;

  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;
  ProbeResult TimedOut(Duration timeout) override;

 private:
  struct Run;
  struct LeanRun;
  struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
  enum class Method { kGet, kHead, kPost, kCustom };

  // Also decides the path (lean_) and prepares the lean request.
  void ParseUrl(const HttpProbeConfig& config, const std::string& method);
  // The request bytes of the lean path, built once.
  std::string BuildRequest(const HttpProbeConfig& config,
                           const std::string& method,
                           const std::string& host_header,
                           const std::string& target) const;
  void OnResolved(const ResolveAnswer& answer);
  void SetResolveList(const std::vector<std::string>& addresses);
  void SetAddresses(const std::vector<std::string>& addresses);
  void StartTransfer();
  void StartExchange();
  void OnExchangeDone(HttpExchange::End end, std::string reason);
  void OnBackstop();
  // The allowance past the advisory timeout before a run gives up itself.
  Duration BackstopLeft() const;
  void Configure(CURL* easy);
  void OnTransferDone(CURLcode code);
  ProbeResult Evaluate(CURL* easy, CURLcode code);
  // `coded`: the body is in a transfer coding (gzip...), not matched.
  ProbeResult Verdict(long status, const std::string& body, bool truncated,
                      bool coded);
  ProbeResult TransferError(CURL* easy, CURLcode code, long status);
  // How far a curl transfer got: "connecting", "TLS handshake", "waiting
  // for response" or "reading body".
  const char* CurlPhase(CURL* easy, long status) const;
  std::optional<double> CertExpiry(CURL* easy, long status);
  void Finish(ProbeResult result);
  static size_t OnBody(char* data, size_t size, size_t count, void* self);
  // Checks the head curl reads by the plain client's rules (see Run).
  static size_t OnHeader(char* data, size_t size, size_t count, void* self);

  CurlMulti* multi_;
  Resolver* resolver_;
  SocketPool* sockets_;

  // From the configuration, fixed for the probe's life. Kept small: one
  // probe per check, and 10,000 checks must fit in a few tens of MiB.
  Method method_ = Method::kGet;
  bool https_ = false;
  bool lean_ = false;  // plain http on a fresh connection: HttpExchange
  long port_ = 0;
  uint64_t max_body_bytes_;
  std::vector<int> expect_status_;
  std::unique_ptr<ExpectRegex> expect_body_;
  std::string host_;          // a name to resolve; empty for IP literals
  std::string config_error_;  // non-empty: every run is this error
  // Lean path: the request bytes, and the addresses to try (rebuilt only
  // when the resolver's answer changes).
  std::string request_;
  std::vector<SocketAddress> addresses_;
  // The resolver's last answer for host_.
  std::vector<std::string> resolved_;
  // Only on curl's path.
  struct CurlSettings {
    std::string url;
    std::string method_name;
    std::optional<std::string> body;
    Slist headers;
    bool reuse_connection = false;
    bool tls_verify = true;
    std::optional<std::string> ca_file;
    Slist resolve_list;  // CURLOPT_RESOLVE for host_
    // Expiry seen at the last handshake, reported again by runs that reuse
    // its connection.
    std::optional<double> cert_expiry;
  };
  std::unique_ptr<CurlSettings> curl_;

  // The run in flight.
  DoneCallback done_;
  Duration timeout_{0};
  TimePoint deadline_;
  bool resolving_ = false;
  bool in_resolve_call_ = false;
  std::unique_ptr<ProbeResult> early_result_;  // reached inside Resolve()
  Resolver::RequestId resolve_id_ = 0;
  std::optional<double> dns_seconds_;
  std::unique_ptr<Run> run_;           // while curl has the request
  std::unique_ptr<LeanRun> lean_run_;  // while HttpExchange has it
};

}  // namespace watchd

#endif  // WATCHD_PROBES_HTTP_PROBE_H_
