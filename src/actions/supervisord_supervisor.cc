#include "actions/supervisord_supervisor.h"

#include <curl/curl.h>
#include <sys/un.h>

#include <cctype>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "actions/xmlrpc.h"
#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "net/curl_multi.h"

namespace watchd {
namespace {

// Replies are a few hundred bytes; anything near this is not supervisord.
constexpr size_t kMaxReplyBytes = 1 << 20;

// supervisor.xmlrpc.Faults.
constexpr int64_t kShutdownState = 6;
constexpr int64_t kBadName = 10;
constexpr int64_t kNoFile = 20;
constexpr int64_t kNotExecutable = 21;
constexpr int64_t kFailed = 30;
constexpr int64_t kAbnormalTermination = 40;
constexpr int64_t kSpawnError = 50;
constexpr int64_t kAlreadyStarted = 60;
constexpr int64_t kNotRunning = 70;

const char kUrlForms[] =
    "expected unix:///path/to/supervisor.sock or http://host:port";

struct Endpoint {
  std::string url;          // what curl posts to
  std::string socket_path;  // non-empty: connect through this unix socket
  std::string display;      // the configured url without credentials
};

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// A part of u, or "" when it has none.
std::string UrlPart(CURLU* u, CURLUPart part) {
  char* text = nullptr;
  if (curl_url_get(u, part, &text, 0) != CURLUE_OK) return "";
  std::string s = text;
  curl_free(text);
  return s;
}

Result<Endpoint> ParseEndpoint(const std::string& url) {
  if (url.starts_with("unix://")) {
    std::string path = url.substr(7);
    if (path.empty() || path[0] != '/') {
      return Status::Error("invalid url '" + url + "': " + kUrlForms);
    }
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return Status::Error(
          "invalid url '" + url + "': socket path longer than " +
          std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    }
    return Endpoint{"http://localhost/RPC2", path, url};
  }
  // The url may hold a password: errors do not repeat it.
  if (!url.starts_with("http://")) {
    return Status::Error(std::string("invalid url: ") + kUrlForms);
  }
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  if (!u) return Status::Error("out of memory");
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc != CURLUE_OK) {
    return Status::Error(std::string("invalid url: ") + curl_url_strerror(rc) +
                         "; " + kUrlForms);
  }
  std::string path = UrlPart(u.get(), CURLUPART_PATH);
  if ((path != "" && path != "/") ||
      !UrlPart(u.get(), CURLUPART_QUERY).empty() ||
      !UrlPart(u.get(), CURLUPART_FRAGMENT).empty()) {
    return Status::Error(
        std::string("invalid url: give only http://host:port (supervisord "
                    "always serves /RPC2)"));
  }
  Endpoint endpoint;
  if (curl_url_set(u.get(), CURLUPART_PATH, "/RPC2", 0) != CURLUE_OK) {
    return Status::Error("out of memory");
  }
  endpoint.url = UrlPart(u.get(), CURLUPART_URL);
  curl_url_set(u.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_PASSWORD, nullptr, 0);
  curl_url_set(u.get(), CURLUPART_PATH, nullptr, 0);
  endpoint.display = UrlPart(u.get(), CURLUPART_URL);
  if (endpoint.url.empty() || endpoint.display.empty()) {
    return Status::Error("out of memory");
  }
  if (endpoint.display.back() == '/') endpoint.display.pop_back();
  return endpoint;
}

// One Restart, Start or GetStatus: a chain of XML-RPC requests under one
// deadline.
class RpcCall final : public SupervisorCall {
 public:
  enum class Kind { kRestart, kStart, kStatus };
  using Done = std::function<void(Result<ProgramStatus>)>;

  RpcCall(const Endpoint& endpoint, CurlMulti* curl, Duration timeout,
          std::string program, Done done)
      : endpoint_(endpoint),
        curl_(curl),
        loop_(curl->loop()),
        timeout_(timeout),
        program_(std::move(program)),
        done_(std::move(done)) {
    timer_.set_callback([this] { OnTimer(); });
  }

  ~RpcCall() override {
    EndTransfer();
    loop_->Cancel(&timer_);
    curl_slist_free_all(headers_);
  }

  void Begin(Kind kind) {
    loop_->ScheduleAfter(&timer_, timeout_);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/xml");
    // No "Expect: 100-continue" round trip for a body curl deems large.
    if (headers != nullptr) headers_ = curl_slist_append(headers, "Expect:");
    if (headers_ == nullptr) {
      curl_slist_free_all(headers);
      FailLater("out of memory");
      return;
    }
    Send(kind == Kind::kRestart ? Step::kStop
         : kind == Kind::kStart ? Step::kStart
                                : Step::kInfo);
  }

 private:
  enum class Step { kStop, kStart, kInfo, kSpawnInfo };

  void Send(Step step) {
    step_ = step;
    switch (step) {
      case Step::kStop:
        request_ = EncodeXmlRpcCall("supervisor.stopProcess", {program_, true});
        break;
      case Step::kStart:
        request_ =
            EncodeXmlRpcCall("supervisor.startProcess", {program_, true});
        break;
      case Step::kInfo:
      case Step::kSpawnInfo:
        request_ = EncodeXmlRpcCall("supervisor.getProcessInfo", {program_});
        break;
    }
    reply_.clear();
    reply_too_big_ = false;
    error_[0] = '\0';
    easy_ = curl_->Acquire();
    if (easy_ == nullptr) {
      FailLater("out of memory");
      return;
    }
    Configure(easy_);
    Status status =
        curl_->Add(easy_, [this](CURLcode code) { OnTransferDone(code); });
    if (!status.ok()) {
      curl_->Release(easy_);
      easy_ = nullptr;
      FailLater(status.message());
    }
  }

  void Configure(CURL* easy) {
    curl_easy_setopt(easy, CURLOPT_URL, endpoint_.url.c_str());
    if (!endpoint_.socket_path.empty()) {
      curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH,
                       endpoint_.socket_path.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    // supervisord is local; http_proxy in the environment is not for it.
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    // Restarts are rare and supervisord may restart between them: a stale
    // kept-alive connection would only fail the next call.
    curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request_.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request_.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &RpcCall::OnBody);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
  }

  static size_t OnBody(char* data, size_t size, size_t count, void* self) {
    auto* call = static_cast<RpcCall*>(self);
    size_t n = size * count;
    if (call->reply_.size() + n > kMaxReplyBytes) {
      call->reply_too_big_ = true;
      return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
    }
    call->reply_.append(data, n);
    return n;
  }

  void OnTransferDone(CURLcode code) {
    CURL* easy = easy_;
    easy_ = nullptr;
    long http_status = 0;
    long os_errno = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &os_errno);
    Result<XmlRpcResponse> reply = Decode(code, http_status, os_errno);
    curl_->Release(easy);
    if (!reply.ok()) {
      Finish(reply.status());
      return;
    }
    OnReply(*reply);
  }

  Result<XmlRpcResponse> Decode(CURLcode code, long http_status,
                                long os_errno) {
    if (reply_too_big_) {
      return Malformed("more than " + std::to_string(kMaxReplyBytes) +
                       " bytes");
    }
    if (code != CURLE_OK) return Status::Error(TransportError(code, os_errno));
    if (http_status != 200) {
      return Status::Error("supervisord answered HTTP " +
                           std::to_string(http_status));
    }
    Result<XmlRpcResponse> decoded = DecodeXmlRpcResponse(reply_);
    if (!decoded.ok()) return Malformed(decoded.status().message());
    return decoded;
  }

  static Status Malformed(const std::string& why) {
    return Status::Error("supervisord sent a malformed reply: " + why);
  }

  std::string TransportError(CURLcode code, long os_errno) const {
    std::string detail;
    if (code == CURLE_COULDNT_CONNECT && os_errno != 0) {
      detail = std::generic_category().message(static_cast<int>(os_errno));
    } else {
      detail = error_[0] != '\0' ? error_ : curl_easy_strerror(code);
      while (!detail.empty() &&
             isspace(static_cast<unsigned char>(detail.back()))) {
        detail.pop_back();
      }
    }
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        return "cannot reach supervisord at " + endpoint_.display + ": " +
               detail;
      case CURLE_WEIRD_SERVER_REPLY:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_BAD_CONTENT_ENCODING:
        return Malformed(detail).message();
      default:
        return "lost the connection to supervisord at " + endpoint_.display +
               ": " + detail;
    }
  }

  void OnReply(const XmlRpcResponse& reply) {
    switch (step_) {
      case Step::kStop:
        if (reply.is_fault && reply.fault.code != kNotRunning) {
          Finish(Status::Error(FaultReason(reply.fault)));
          return;
        }
        Send(Step::kStart);
        return;
      case Step::kStart:
        if (!reply.is_fault || reply.fault.code == kAlreadyStarted) {
          Finish(ProgramStatus{});
          return;
        }
        if (reply.fault.code == kSpawnError) {
          // The fault only names the program; its spawnerr says why.
          spawn_fault_ = reply.fault.message;
          Send(Step::kSpawnInfo);
          return;
        }
        Finish(Status::Error(FaultReason(reply.fault)));
        return;
      case Step::kInfo:
        if (reply.is_fault) {
          Finish(Status::Error(FaultReason(reply.fault)));
          return;
        }
        Finish(ParseInfo(reply.value));
        return;
      case Step::kSpawnInfo: {
        const XmlRpcValue* spawnerr =
            reply.is_fault ? nullptr : reply.value.Member("spawnerr");
        const std::string* why = spawnerr ? spawnerr->AsString() : nullptr;
        Finish(Status::Error(
            "supervisord could not spawn '" + program_ +
            "': " + (why != nullptr && !why->empty() ? *why : spawn_fault_)));
        return;
      }
    }
  }

  static Result<ProgramStatus> ParseInfo(const XmlRpcValue& info) {
    const XmlRpcValue* pid = info.Member("pid");
    const XmlRpcValue* state = info.Member("statename");
    if (pid == nullptr || pid->AsInt() == nullptr || *pid->AsInt() < 0 ||
        *pid->AsInt() > INT_MAX || state == nullptr ||
        state->AsString() == nullptr) {
      return Malformed("getProcessInfo without a pid and a statename");
    }
    ProgramStatus status;
    status.pid = static_cast<pid_t>(*pid->AsInt());
    status.state = *state->AsString();
    return status;
  }

  std::string FaultReason(const XmlRpcFault& fault) const {
    const std::string quoted = "'" + program_ + "'";
    switch (fault.code) {
      case kShutdownState:
        return "supervisord is shutting down";
      case kBadName:
        return "supervisord has no program " + quoted;
      case kNoFile:
        return "supervisord cannot find the command of " + quoted + ": " +
               fault.message;
      case kNotExecutable:
        return "supervisord cannot execute the command of " + quoted + ": " +
               fault.message;
      case kFailed:
        return "supervisord failed on " + quoted + ": " + fault.message;
      case kAbnormalTermination:
        return "supervisord: " + quoted + " exited while starting";
      case kSpawnError:
        return "supervisord could not spawn " + quoted + ": " + fault.message;
      default:
        return "supervisord fault " + std::to_string(fault.code) + ": " +
               fault.message;
    }
  }

  void EndTransfer() {
    if (easy_ == nullptr) return;
    curl_->Remove(easy_);
    curl_->Release(easy_);
    easy_ = nullptr;
  }

  // Reports on the next loop pass: callbacks never run inside the call.
  void FailLater(std::string reason) {
    deferred_error_ = std::move(reason);
    loop_->ScheduleAfter(&timer_, Duration::zero());
  }

  void OnTimer() {
    if (deferred_error_) {
      Finish(Status::Error(std::move(*deferred_error_)));
      return;
    }
    EndTransfer();
    Finish(Status::Error("timed out after " + FormatDuration(timeout_)));
  }

  void Finish(Result<ProgramStatus> result) {
    loop_->Cancel(&timer_);
    // A local: `done` may destroy this call.
    Done done = std::move(done_);
    done(std::move(result));
  }

  const Endpoint endpoint_;
  CurlMulti* curl_;
  EventLoop* loop_;
  const Duration timeout_;
  const std::string program_;
  Done done_;
  Step step_ = Step::kStop;
  CURL* easy_ = nullptr;  // while a request is in flight
  curl_slist* headers_ = nullptr;
  std::string request_;  // curl reads the body from here
  std::string reply_;
  bool reply_too_big_ = false;
  char error_[CURL_ERROR_SIZE] = {};
  std::string spawn_fault_;  // the SPAWN_ERROR fault while asking why
  std::optional<std::string> deferred_error_;
  Timer timer_;  // the deadline, or the deferred report of an error
};

class SupervisordSupervisor final : public Supervisor {
 public:
  SupervisordSupervisor(Endpoint endpoint, CurlMulti* curl, Duration timeout)
      : endpoint_(std::move(endpoint)), curl_(curl), timeout_(timeout) {}

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& program,
                                          Done done) override {
    return Begin(RpcCall::Kind::kRestart, program, ToStatus(std::move(done)));
  }

  std::unique_ptr<SupervisorCall> Start(const ProgramRef& program,
                                        Done done) override {
    return Begin(RpcCall::Kind::kStart, program, ToStatus(std::move(done)));
  }

  std::unique_ptr<SupervisorCall> GetStatus(const ProgramRef& program,
                                            StatusDone done) override {
    return Begin(RpcCall::Kind::kStatus, program, std::move(done));
  }

  bool reports_pid() const override { return true; }

 private:
  static RpcCall::Done ToStatus(Done done) {
    return [done = std::move(done)](Result<ProgramStatus> result) {
      done(result.ok() ? Status::Ok() : result.status());
    };
  }

  std::unique_ptr<SupervisorCall> Begin(RpcCall::Kind kind,
                                        const ProgramRef& program,
                                        RpcCall::Done done) {
    auto call = std::make_unique<RpcCall>(endpoint_, curl_, timeout_,
                                          program.program, std::move(done));
    call->Begin(kind);
    return call;
  }

  const Endpoint endpoint_;
  CurlMulti* curl_;
  const Duration timeout_;
};

}  // namespace

Result<std::unique_ptr<Supervisor>> MakeSupervisordSupervisor(
    const SupervisorConfig& config, CurlMulti* curl) {
  Result<Endpoint> endpoint = ParseEndpoint(config.url);
  if (!endpoint.ok()) return endpoint.status();
  return std::unique_ptr<Supervisor>(
      new SupervisordSupervisor(std::move(*endpoint), curl, config.timeout));
}

}  // namespace watchd
