// The `http` probe: one HTTP(S) request through the shared CurlMulti, host
// names resolved by c-ares (curl never resolves), verdict from the status
// code and an optional body regex. https runs whose handshake happened (or
// whose reused connection had one) report the earliest expiry of the peer's
// certificate chain.
//
// Choices: redirects are not followed (a 3xx is the answer); proxies from
// the environment are ignored; bodies are read up to max_body_bytes, beyond
// which the transfer is cut and the verdict uses the prefix read; curl gives
// up a little after the advisory timeout (kTimeout) in case nobody cancels.
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
#include "net/resolver.h"
#include "probes/probe.h"

namespace watchd {

class CurlMulti;

class HttpProbe : public Probe {
 public:
  // multi and resolver must outlive the probe; the resolver is asked only
  // for host names, never for IP literals. A bad URL or expect_body is
  // reported by every run as an error.
  HttpProbe(const HttpProbeConfig& config, CurlMulti* multi,
            Resolver* resolver);
  ~HttpProbe() override;
  HttpProbe(const HttpProbe&) = delete;
  HttpProbe& operator=(const HttpProbe&) = delete;

  void Start(Duration timeout, DoneCallback done) override;
  void Cancel() override;

 private:
  struct Run;
  struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
  };
  using Slist = std::unique_ptr<curl_slist, SlistDeleter>;
  enum class Method { kGet, kHead, kPost, kCustom };

  void ParseUrl();
  void OnResolved(const ResolveAnswer& answer);
  void SetResolveList(const std::vector<std::string>& addresses);
  void StartTransfer();
  void Configure(CURL* easy);
  void OnTransferDone(CURLcode code);
  ProbeResult Evaluate(CURL* easy, CURLcode code);
  ProbeResult Verdict(long status);
  ProbeResult TransferError(CURL* easy, CURLcode code, long status);
  std::optional<double> CertExpiry(CURL* easy, long status);
  void Finish(ProbeResult result);
  static size_t OnBody(char* data, size_t size, size_t count, void* self);

  CurlMulti* multi_;
  Resolver* resolver_;

  // From the configuration, fixed for the probe's life.
  std::string url_;
  Method method_ = Method::kGet;
  std::string method_name_;
  std::optional<std::string> body_;
  std::vector<int> expect_status_;
  std::optional<ExpectRegex> expect_body_;
  Slist headers_;
  bool reuse_connection_;
  bool tls_verify_;
  std::optional<std::string> ca_file_;
  uint64_t max_body_bytes_;
  bool https_ = false;
  std::string host_;  // a name to resolve; empty for IP literals
  long port_ = 0;
  std::string config_error_;  // non-empty: every run is this error

  // CURLOPT_RESOLVE for host_, rebuilt only when the addresses change.
  std::vector<std::string> resolved_;
  Slist resolve_list_;
  // Expiry seen at the last handshake, reported again by runs that reuse
  // its connection.
  std::optional<double> cert_expiry_;

  // The run in flight.
  DoneCallback done_;
  Duration timeout_{0};
  TimePoint deadline_;
  bool resolving_ = false;
  bool in_resolve_call_ = false;
  std::optional<ProbeResult> early_result_;  // reached inside Resolve()
  Resolver::RequestId resolve_id_ = 0;
  std::optional<double> dns_seconds_;
  std::unique_ptr<Run> run_;  // while curl has the request
};

}  // namespace watchd

#endif  // WATCHD_PROBES_HTTP_PROBE_H_
