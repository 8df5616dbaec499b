#include "probes/http_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <utility>

#include "core/event_loop.h"
#include "core/version.h"
#include "net/curl_multi.h"
#include "net/http_response_parser.h"

namespace watchd {

struct HttpProbe::LeanRun {
  LeanRun(EventLoop* loop, SocketPool* sockets, bool head, uint64_t max_body,
          bool keep_body)
      : exchange(loop, sockets), parser(head, max_body, keep_body) {}
  HttpExchange exchange;
  HttpResponseParser parser;
  Timer backstop;
};

struct HttpProbe::Run {
  // The head as curl hands it over, line by line, read by the plain
  // client's parser: libcurl lets through heads that client refuses (a
  // Content-Length that overflows or conflicts, an HTTP/2 status line on an
  // HTTP/1 connection, a head cut by the close) and bounds them elsewhere,
  // and both paths must judge a response alike.
  HttpResponseParser head{/*head_request=*/true, 0, /*keep_body=*/false};
  bool check_head = true;  // false once the response is HTTP/2 or 3
  CURL* easy = nullptr;
  std::string body;  // kept only when expect_body needs it
  uint64_t body_read = 0;
  bool truncated = false;  // cut at max_body_bytes
  char error[CURL_ERROR_SIZE] = {};
};

namespace {

const char kUserAgent[] = "watchd/" WATCHD_VERSION;

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// curl's error buffer, or its generic text for the code.
std::string Detail(const char* error, CURLcode code) {
  std::string s = error[0] != '\0' ? error : curl_easy_strerror(code);
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) {
    s.pop_back();
  }
  return s;
}

// The plain client's reason for a malformed response curl refused, found
// from curl's message: curl 7.88 gives these cases generic codes
// (CURLE_WEIRD_SERVER_REPLY, CURLE_RECV_ERROR); empty when none matches.
std::string MalformedReason(const std::string& detail) {
  static const struct {
    const char* curl;
    const char* reason;
  } kReasons[] = {
      {"Nul byte in header", "malformed response: NUL in header"},
      {"Invalid Content-Length", "malformed response: bad Content-Length"},
      {"Header without colon", "malformed response: header without colon"},
      {"Too large response headers", "malformed response: headers too long"},
      {"in chunked-encoding", "malformed response: bad chunk"},
  };
  for (const auto& r : kReasons) {
    if (detail.find(r.curl) != std::string::npos) return r.reason;
  }
  return "";
}

// OpenSSL's notation, as curl's certinfo prints it: "Nov 22 02:19:05 2027
// GMT" (OpenSSL 3 may add fractional seconds).
std::optional<double> ParseCertDate(const char* text) {
  struct tm tm = {};
  const char* p = strptime(text, "%b %d %H:%M:%S", &tm);
  if (p == nullptr) return std::nullopt;
  if (*p == '.') {
    ++p;
    while (isdigit(static_cast<unsigned char>(*p))) ++p;
  }
  if (strptime(p, " %Y", &tm) == nullptr) return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

}  // namespace

HttpProbe::HttpProbe(const HttpProbeConfig& config, CurlMulti* multi,
                     Resolver* resolver, SocketPool* sockets)
    : multi_(multi),
      resolver_(resolver),
      sockets_(sockets),
      max_body_bytes_(config.max_body_bytes),
      expect_status_(config.expect_status) {
  std::string method = config.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  if (method == "GET") {
    method_ = Method::kGet;
  } else if (method == "HEAD") {
    method_ = Method::kHead;
  } else if (method == "POST") {
    method_ = Method::kPost;
  } else {
    method_ = Method::kCustom;
  }
  if (config.expect_body) {
    auto matcher = ExpectRegex::Compile(*config.expect_body);
    if (!matcher.ok()) {
      config_error_ = "bad expect_body: " + matcher.status().message();
      return;
    }
    expect_body_ = std::make_unique<ExpectRegex>(std::move(matcher).value());
  }
  ParseUrl(config, method);
  if (lean_ || !config_error_.empty()) return;
  curl_ = std::make_unique<CurlSettings>();
  curl_->url = config.url;
  curl_->method_name = method;
  curl_->body = config.body;
  curl_->reuse_connection = config.reuse_connection;
  curl_->tls_verify = config.tls_verify;
  curl_->ca_file = config.ca_file;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : config.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* appended = curl_slist_append(headers, line.c_str());
    if (appended == nullptr) {
      curl_slist_free_all(headers);
      config_error_ = "out of memory";
      return;
    }
    headers = appended;
  }
  curl_->headers.reset(headers);
}

HttpProbe::~HttpProbe() { Cancel(); }

void HttpProbe::ParseUrl(const HttpProbeConfig& config,
                         const std::string& method) {
  CURLU* u = curl_url();
  if (u == nullptr) {
    config_error_ = "out of memory";
    return;
  }
  char* scheme = nullptr;
  char* host = nullptr;
  char* port = nullptr;
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, config.url.c_str(), 0);
  if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
  if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
  if (rc == CURLUE_OK) {
    rc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
  }
  if (rc != CURLUE_OK) {
    config_error_ = std::string("bad URL: ") + curl_url_strerror(rc);
  } else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    config_error_ = std::string("bad URL: unsupported scheme ") + scheme;
  } else {
    https_ = strcmp(scheme, "https") == 0;
    port_ = strtol(port, nullptr, 10);
    std::string h = host;
    // IPv6 literals come bracketed.
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
      h = h.substr(1, h.size() - 2);
    }
    if (!IsIpLiteral(h)) host_ = h;
    char* user = nullptr;
    bool credentials = curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
    curl_free(user);
    if (!https_ && !config.reuse_connection && !credentials) {
      lean_ = true;
      // Host carries the port only when the URL names one, as curl does.
      char* explicit_port = nullptr;
      std::string host_header = host;
      if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK) {
        host_header += std::string(":") + explicit_port;
      }
      curl_free(explicit_port);
      char* path = nullptr;
      char* query = nullptr;
      std::string target = "/";
      if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
          path[0] != '\0') {
        target = path;
      }
      if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
        target += std::string("?") + query;
      }
      curl_free(path);
      curl_free(query);
      request_ = BuildRequest(config, method, host_header, target);
      if (host_.empty()) SetAddresses({h});
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
}

std::string HttpProbe::BuildRequest(const HttpProbeConfig& config,
                                    const std::string& method,
                                    const std::string& host_header,
                                    const std::string& target) const {
  const auto& headers = config.headers;
  const auto& body = config.body;
  auto configured = [&](std::string_view name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
      return EqualsNoCase(h.first, name);
    });
  };
  std::string r = method + " " + target + " HTTP/1.1\r\n";
  // Defaults first, each replaced by a configured header of the same name.
  if (!configured("Host")) r += "Host: " + host_header + "\r\n";
  if (!configured("User-Agent"))
    r += std::string("User-Agent: ") + kUserAgent + "\r\n";
  if (!configured("Accept")) r += "Accept: */*\r\n";
  // A fresh connection per run: the server may close it once it answered.
  r += "Connection: close\r\n";
  bool has_body = body.has_value() || method_ == Method::kPost;
  if (has_body) {
    r += "Content-Length: " + std::to_string(body ? body->size() : 0) + "\r\n";
    if (!configured("Content-Type")) {
      r += "Content-Type: application/x-www-form-urlencoded\r\n";
    }
  }
  for (const auto& [name, value] : headers) {
    if (EqualsNoCase(name, "Connection") ||
        (has_body && EqualsNoCase(name, "Content-Length"))) {
      continue;
    }
    r += name + ": " + value + "\r\n";
  }
  r += "\r\n";
  if (body) r += *body;
  return r;
}

void HttpProbe::SetAddresses(const std::vector<std::string>& addresses) {
  addresses_.clear();
  for (const std::string& a : addresses) {
    SocketAddress sa;
    if (sa.Set(a, static_cast<int>(port_))) addresses_.push_back(sa);
  }
}

void HttpProbe::Start(Duration timeout, DoneCallback done) {
  if (!config_error_.empty()) {
    done(ProbeResult::Error(config_error_));
    return;
  }
  done_ = std::move(done);
  timeout_ = timeout;
  deadline_ = multi_->loop()->Now() + timeout;
  dns_seconds_.reset();
  if (host_.empty()) {
    if (lean_) {
      StartExchange();
    } else {
      StartTransfer();
    }
    return;
  }
  // Cache hits and /etc/hosts names answer before Resolve returns; a result
  // reached then is held back (see Finish) so that nothing touches this
  // probe after `done`, which may destroy it.
  resolving_ = true;
  in_resolve_call_ = true;
  Resolver::RequestId id = resolver_->Resolve(
      host_, [this](const ResolveAnswer& answer) { OnResolved(answer); });
  in_resolve_call_ = false;
  if (resolving_) resolve_id_ = id;
  if (early_result_) {
    ProbeResult result = std::move(*early_result_);
    early_result_.reset();
    Finish(std::move(result));
  }
}

void HttpProbe::Cancel() {
  if (resolving_) {
    resolving_ = false;
    resolver_->Cancel(resolve_id_);
  }
  if (run_) {
    multi_->Remove(run_->easy);
    multi_->Release(run_->easy);
    run_.reset();
  }
  lean_run_.reset();
  done_ = nullptr;
}

void HttpProbe::OnResolved(const ResolveAnswer& answer) {
  resolving_ = false;
  if (!answer.from_cache) dns_seconds_ = ToSeconds(answer.lookup_time);
  if (!answer.status.ok()) {
    Finish(ProbeResult::Failure("could not resolve host: " +
                                answer.status.message()));
    return;
  }
  if (answer.addresses.empty()) {
    Finish(ProbeResult::Failure("could not resolve host: no address"));
    return;
  }
  if (lean_) {
    if (addresses_.empty() || answer.addresses != resolved_) {
      SetAddresses(answer.addresses);
      resolved_ = answer.addresses;
    }
    StartExchange();
    return;
  }
  SetResolveList(answer.addresses);
  StartTransfer();
}

void HttpProbe::SetResolveList(const std::vector<std::string>& addresses) {
  if (curl_->resolve_list && addresses == resolved_) return;
  // "host:port:addr[,addr]", IPv6 in brackets; curl tries them in order.
  std::string entry = host_ + ":" + std::to_string(port_) + ":";
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (i > 0) entry += ',';
    bool v6 = addresses[i].find(':') != std::string::npos;
    entry += v6 ? "[" + addresses[i] + "]" : addresses[i];
  }
  curl_->resolve_list.reset(curl_slist_append(nullptr, entry.c_str()));
  resolved_ = curl_->resolve_list ? addresses : std::vector<std::string>();
}

void HttpProbe::StartExchange() {
  EventLoop* loop = multi_->loop();
  lean_run_ =
      std::make_unique<LeanRun>(loop, sockets_, method_ == Method::kHead,
                                max_body_bytes_, expect_body_ != nullptr);
  lean_run_->backstop.set_callback([this] { OnBackstop(); });
  loop->ScheduleAfter(&lean_run_->backstop, BackstopLeft());
  LeanRun* run = lean_run_.get();
  run->exchange.Start(addresses_.data(), addresses_.size(), request_,
                      &run->parser,
                      [this](HttpExchange::End end, std::string reason) {
                        OnExchangeDone(end, std::move(reason));
                      });
}

void HttpProbe::OnExchangeDone(HttpExchange::End end, std::string reason) {
  std::unique_ptr<LeanRun> run = std::move(lean_run_);
  const HttpResponseParser& p = run->parser;
  ProbeResult result;
  if (end == HttpExchange::End::kLocal) {
    result = ProbeResult::Error(std::move(reason));
  } else if (end == HttpExchange::End::kRemote) {
    result = ProbeResult::Failure(std::move(reason));
  } else if (p.state() == HttpResponseParser::State::kError) {
    result = ProbeResult::Failure(p.error());
  } else {
    result =
        Verdict(p.status(), p.body(),
                p.state() == HttpResponseParser::State::kTruncated, p.coded());
  }
  if (p.status() > 0) result.http_status = p.status();
  run.reset();
  Finish(std::move(result));
}

const char* HttpProbe::CurlPhase(CURL* easy, long status) const {
  curl_off_t connected = 0;
  curl_off_t handshaken = 0;
  curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &connected);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &handshaken);
  return connected == 0              ? "connecting"
         : https_ && handshaken == 0 ? "TLS handshake"
         : status == 0               ? "waiting for response"
                                     : "reading body";
}

ProbeResult HttpProbe::TimedOut(Duration timeout) {
  std::string phase = "resolving";
  long status = 0;
  if (lean_run_) {
    phase = lean_run_->exchange.Phase();
    status = lean_run_->parser.status();
  } else if (run_) {
    curl_easy_getinfo(run_->easy, CURLINFO_RESPONSE_CODE, &status);
    phase = CurlPhase(run_->easy, status);
  } else if (!resolving_) {
    return Probe::TimedOut(timeout);
  }
  ProbeResult result{
      ProbeOutcome::kTimeout,
      "timeout after " + FormatDuration(timeout) + " (" + phase + ")"};
  if (status > 0) result.http_status = static_cast<int>(status);
  return result;
}

void HttpProbe::OnBackstop() {
  std::string phase = lean_run_->exchange.Phase();
  int status = lean_run_->parser.status();
  lean_run_.reset();
  ProbeResult result{
      ProbeOutcome::kTimeout,
      "timeout after " + FormatDuration(timeout_) + " (" + phase + ")"};
  if (status > 0) result.http_status = status;
  Finish(std::move(result));
}

Duration HttpProbe::BackstopLeft() const {
  // A little after the Check's timeout, which normally ends the run first.
  return deadline_ - multi_->loop()->Now() + timeout_ / 10 +
         std::chrono::milliseconds(100);
}

void HttpProbe::StartTransfer() {
  if (!host_.empty() && !curl_->resolve_list) {
    Finish(ProbeResult::Error("out of memory"));
    return;
  }
  CURL* easy = multi_->Acquire();
  if (easy == nullptr) {
    Finish(ProbeResult::Error("out of memory"));
    return;
  }
  run_ = std::make_unique<Run>();
  run_->easy = easy;
  Configure(easy);
  Status status =
      multi_->Add(easy, [this](CURLcode code) { OnTransferDone(code); });
  if (!status.ok()) {
    multi_->Release(easy);
    run_.reset();
    Finish(ProbeResult::Error(status.message()));
  }
}

void HttpProbe::Configure(CURL* easy) {
  curl_easy_setopt(easy, CURLOPT_URL, curl_->url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, kUserAgent);
  // Health checks go straight to the service, whatever http_proxy says
  // (this also spares curl a getenv() scan per transfer).
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, run_->error);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &HttpProbe::OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &HttpProbe::OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
  if (curl_->resolve_list) {
    curl_easy_setopt(easy, CURLOPT_RESOLVE, curl_->resolve_list.get());
  }
  if (curl_->headers) {
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, curl_->headers.get());
  }
  const std::optional<std::string>& body = curl_->body;
  if (method_ == Method::kHead) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (body || method_ == Method::kPost) {
    // Not copied by curl: the body lives as long as the probe.
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body ? body->size() : 0));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body->c_str() : "");
    if (method_ != Method::kPost) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, curl_->method_name.c_str());
    }
  } else if (method_ == Method::kCustom) {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, curl_->method_name.c_str());
  }
  if (!curl_->reuse_connection) {
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  }
  if (https_) {
    if (!curl_->tls_verify) {
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (curl_->ca_file) {
      curl_easy_setopt(easy, CURLOPT_CAINFO, curl_->ca_file->c_str());
    }
    // Costly (curl formats the whole chain), so only where it is used.
    curl_easy_setopt(easy, CURLOPT_CERTINFO, 1L);
  }
  // A backstop in case nobody cancels.
  Duration left = BackstopLeft();
  long left_ms = static_cast<long>(
      std::chrono::ceil<std::chrono::milliseconds>(left).count());
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, std::max(left_ms, 1L));
}

size_t HttpProbe::OnBody(char* data, size_t size, size_t count, void* self) {
  auto* probe = static_cast<HttpProbe*>(self);
  Run* run = probe->run_.get();
  size_t n = size * count;
  uint64_t room = probe->max_body_bytes_ - run->body_read;
  size_t take = static_cast<size_t>(std::min<uint64_t>(n, room));
  if (probe->expect_body_) run->body.append(data, take);
  run->body_read += take;
  if (take < n) {
    // Any short count makes curl stop the transfer (CURLE_WRITE_ERROR).
    run->truncated = true;
    return 0;
  }
  return n;
}

size_t HttpProbe::OnHeader(char* data, size_t size, size_t count, void* self) {
  auto* probe = static_cast<HttpProbe*>(self);
  Run* run = probe->run_.get();
  size_t n = size * count;
  // Trailers come here too, once the head is read: they are not checked.
  if (!run->check_head || run->head.final()) return n;
  std::string_view line(data, n);
  // HTTP/2 and 3 (over TLS) have no text head to check: curl synthesizes
  // one from frames it checked itself.
  if (probe->https_ && line.starts_with("HTTP/") &&
      !line.starts_with("HTTP/1.")) {
    run->check_head = false;
    return n;
  }
  // A short count makes curl stop the transfer (CURLE_WRITE_ERROR).
  return run->head.Feed(line) == HttpResponseParser::State::kError ? 0 : n;
}

void HttpProbe::OnTransferDone(CURLcode code) {
  CURL* easy = run_->easy;
  ProbeResult result = Evaluate(easy, code);
  run_.reset();
  multi_->Release(easy);
  Finish(std::move(result));
}

ProbeResult HttpProbe::Evaluate(CURL* easy, CURLcode code) {
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  bool cut = code == CURLE_WRITE_ERROR && run_->truncated;
  const HttpResponseParser& head = run_->head;
  ProbeResult result;
  if (head.state() == HttpResponseParser::State::kError) {
    result = ProbeResult::Failure(head.error());
    // A status line the plain client refuses (HTTP/2 on HTTP/1) gives no
    // status there either.
    if (head.status() == 0) status = 0;
  } else if (code == CURLE_OK && run_->check_head && !head.final()) {
    // curl takes a close inside the head for the end of an empty response.
    result = ProbeResult::Failure("response cut short");
  } else if (code == CURLE_OK || cut) {
    result = Verdict(status, run_->body, run_->truncated, run_->head.coded());
  } else {
    result = TransferError(easy, code, status);
  }
  if (status > 0) result.http_status = static_cast<int>(status);
  if (https_) result.ssl_earliest_cert_expiry = CertExpiry(easy, status);
  return result;
}

ProbeResult HttpProbe::Verdict(long status, const std::string& body,
                               bool truncated, bool coded) {
  bool status_ok = expect_status_.empty()
                       ? status >= 200 && status < 400
                       : std::find(expect_status_.begin(), expect_status_.end(),
                                   status) != expect_status_.end();
  if (!status_ok)
    return ProbeResult::Failure("status " + std::to_string(status));
  if (expect_body_) {
    // libcurl decodes some codings where the plain client decodes none:
    // both paths refuse to match rather than disagree.
    if (coded) {
      return ProbeResult::Failure(
          "body in a Transfer-Encoding watchd does not decode");
    }
    if (!expect_body_->Search(body)) {
      return ProbeResult::Failure(
          truncated ? "body did not match in the first " +
                          std::to_string(max_body_bytes_) + " bytes"
                    : "body did not match");
    }
  }
  return ProbeResult::Success("status " + std::to_string(status));
}

ProbeResult HttpProbe::TransferError(CURL* easy, CURLcode code, long status) {
  long os_errno = 0;
  curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
  const char* error = run_->error;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ProbeResult{ProbeOutcome::kTimeout,
                         "timeout after " + FormatDuration(timeout_) + " (" +
                             CurlPhase(easy, status) + ")"};
    case CURLE_COULDNT_CONNECT:
      switch (os_errno) {
        case ECONNREFUSED:
          return ProbeResult::Failure("connection refused");
        case EHOSTUNREACH:
          return ProbeResult::Failure("host unreachable");
        case ENETUNREACH:
          return ProbeResult::Failure("network unreachable");
        case EMFILE:
        case ENFILE:
          return ProbeResult::Error("out of file descriptors");
        case EADDRNOTAVAIL:
          return ProbeResult::Error("no free local port");
        default:
          return ProbeResult::Failure("could not connect: " +
                                      Detail(error, code));
      }
    case CURLE_COULDNT_RESOLVE_HOST:
      return ProbeResult::Failure("could not resolve host");
    case CURLE_PEER_FAILED_VERIFICATION: {
      std::string detail = Detail(error, code);
      const std::string prefix = "SSL certificate problem: ";
      if (detail.compare(0, prefix.size(), prefix) == 0) {
        detail.erase(0, prefix.size());
      }
      return ProbeResult::Failure("certificate verify failed: " + detail);
    }
    case CURLE_SSL_CONNECT_ERROR:
      return ProbeResult::Failure("TLS handshake failed: " +
                                  Detail(error, code));
    case CURLE_SSL_CACERT_BADFILE:
      return ProbeResult::Error("cannot use ca_file: " + Detail(error, code));
    case CURLE_GOT_NOTHING:
      // An interim response (100 Continue) and then the close: something
      // came, as the plain client says.
      return ProbeResult::Failure(status > 0 ? "response cut short"
                                             : "empty reply");
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: {  // also an HTTP/0.9 (headerless) one
      std::string reason = MalformedReason(Detail(error, code));
      return ProbeResult::Failure(reason.empty() ? "malformed response"
                                                 : reason);
    }
    case CURLE_PARTIAL_FILE:
      return ProbeResult::Failure("response cut short");
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: {
      std::string reason = MalformedReason(Detail(error, code));
      if (!reason.empty()) return ProbeResult::Failure(reason);
      if (os_errno == ECONNRESET || os_errno == EPIPE) {
        return ProbeResult::Failure("connection reset");
      }
      return ProbeResult::Failure(Detail(error, code));
    }
    case CURLE_OUT_OF_MEMORY: {
      // How curl 7.88 refuses one header line over 100 KiB, before the
      // header callback sees it: a head that began and did not end is the
      // service's fault (the plain client stops at 64 KiB of head).
      long request_bytes = 0;
      curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_bytes);
      if (request_bytes > 0 && !run_->head.final()) {
        return ProbeResult::Failure("malformed response: headers too long");
      }
      return ProbeResult::Error("out of memory");
    }
    case CURLE_FAILED_INIT:
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_NOT_BUILT_IN:
    case CURLE_WRITE_ERROR:
    case CURLE_ABORTED_BY_CALLBACK:
      return ProbeResult::Error(Detail(error, code));
    default:
      return ProbeResult::Failure(Detail(error, code));
  }
}

std::optional<double> HttpProbe::CertExpiry(CURL* easy, long status) {
  long connects = 0;
  curl_off_t handshaken = 0;
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &handshaken);
  if (connects == 0) {
    // An answer on a reused connection: its handshake was an earlier run's.
    return status > 0 ? curl_->cert_expiry : std::nullopt;
  }
  if (handshaken == 0) return std::nullopt;
  curl_certinfo* info = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &info) != CURLE_OK ||
      info == nullptr) {
    return std::nullopt;
  }
  std::optional<double> earliest;
  static const char kLabel[] = "Expire date:";
  for (int i = 0; i < info->num_of_certs; ++i) {
    for (curl_slist* s = info->certinfo[i]; s != nullptr; s = s->next) {
      if (strncmp(s->data, kLabel, sizeof(kLabel) - 1) != 0) continue;
      auto t = ParseCertDate(s->data + sizeof(kLabel) - 1);
      if (t && (!earliest || *t < *earliest)) earliest = t;
    }
  }
  curl_->cert_expiry = earliest;
  return earliest;
}

void HttpProbe::Finish(ProbeResult result) {
  if (in_resolve_call_) {
    early_result_ = std::make_unique<ProbeResult>(std::move(result));
    return;
  }
  if (dns_seconds_) result.dns_lookup_seconds = dns_seconds_;
  DoneCallback done = std::move(done_);
  done_ = nullptr;
  // Last: done may start the next run or destroy this probe.
  done(std::move(result));
}

}  // namespace watchd
