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

#include "actions/status_batcher.h"
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

Status Malformed(const std::string& why) {
  return Status::Error("supervisord sent a malformed reply: " + why);
}

// Why supervisord refused a call about `program` ("" when the call was not
// about one program).
std::string FaultReason(const XmlRpcFault& fault, const std::string& program) {
  if (fault.code == kShutdownState) return "supervisord is shutting down";
  const std::string quoted = "'" + program + "'";
  if (!program.empty()) {
    switch (fault.code) {
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
        // Also what startProcess answers while the old process is stuck in
        // STOPPING: it cannot spawn a second one.
        return "supervisord could not start " + quoted +
               ": it exited while starting, or its old process has not "
               "stopped yet";
      case kSpawnError:
        return "supervisord could not spawn " + quoted + ": " + fault.message;
    }
  }
  return "supervisord fault " + std::to_string(fault.code) + ": " +
         fault.message;
}

// A string member of a struct, "" when it has none.
std::string StringMember(const XmlRpcValue& value, const char* name) {
  const XmlRpcValue* member = value.Member(name);
  const std::string* text = member ? member->AsString() : nullptr;
  return text ? *text : std::string();
}

// A getProcessInfo struct.
Result<ProgramStatus> ParseInfo(const XmlRpcValue& info) {
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
  // FATAL: supervisord gave up after startretries and starts it no more by
  // itself; BACKOFF: it waits to try again. Either way its description is
  // the spawn error ("Exited too quickly (process log may have details)").
  const bool fatal = status.state == "FATAL";
  if (status.pid == 0 && (fatal || status.state == "BACKOFF")) {
    status.hold = fatal ? ProgramHold::kGaveUp : ProgramHold::kBackingOff;
    std::string why = StringMember(info, "description");
    if (why.empty()) why = StringMember(info, "spawnerr");
    status.hold_reason = status.state + (why.empty() ? "" : " (" + why + ")");
  }
  return status;
}

// A chain of XML-RPC requests to supervisord under one deadline. A subclass
// sends the first request from Start(), the next ones from OnReply(), and
// ends the call (its caller's callback, as its last act) from OnReply() or
// Fail().
class RpcCall : public SupervisorCall {
 public:
  RpcCall(const Endpoint& endpoint, CurlMulti* curl, Duration timeout)
      : endpoint_(endpoint),
        curl_(curl),
        loop_(curl->loop()),
        timeout_(timeout) {
    timer_.set_callback([this] { OnTimer(); });
  }

  ~RpcCall() override {
    EndTransfer();
    loop_->Cancel(&timer_);
    curl_slist_free_all(headers_);
  }

  void Begin() {
    loop_->ScheduleAfter(&timer_, timeout_);
    curl_slist* headers = curl_slist_append(nullptr, "Content-Type: text/xml");
    // No "Expect: 100-continue" round trip for a body curl deems large.
    if (headers != nullptr) headers_ = curl_slist_append(headers, "Expect:");
    if (headers_ == nullptr) {
      curl_slist_free_all(headers);
      FailLater("out of memory");
      return;
    }
    Start();
  }

 protected:
  virtual void Start() = 0;
  virtual void OnReply(const XmlRpcResponse& reply) = 0;
  virtual void Fail(Status status) = 0;

  void Send(std::string request) {
    request_ = std::move(request);
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

  // For the subclass before its caller's callback: the deadline must not
  // fire after it.
  void StopTimer() { loop_->Cancel(&timer_); }

 private:
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
    // supervisord may restart between calls: a stale kept-alive connection
    // would only fail the next call.
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
      Fail(reply.status());
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
      Fail(Status::Error(std::move(*deferred_error_)));
      return;
    }
    EndTransfer();
    Fail(Status::Error("timed out after " + FormatDuration(timeout_)));
  }

  const Endpoint endpoint_;
  CurlMulti* curl_;
  EventLoop* loop_;
  const Duration timeout_;
  CURL* easy_ = nullptr;  // while a request is in flight
  curl_slist* headers_ = nullptr;
  std::string request_;  // curl reads the body from here
  std::string reply_;
  bool reply_too_big_ = false;
  char error_[CURL_ERROR_SIZE] = {};
  std::optional<std::string> deferred_error_;
  Timer timer_;  // the deadline, or the deferred report of an error
};

// Restart (stopProcess, then startProcess), Start (startProcess) or
// Recover (startProcess without waiting) of one program.
class ActionCall final : public RpcCall {
 public:
  enum class Kind { kRestart, kStart, kRecover };

  ActionCall(const Endpoint& endpoint, CurlMulti* curl, Duration timeout,
             Kind kind, std::string program, Supervisor::Done done)
      : RpcCall(endpoint, curl, timeout),
        kind_(kind),
        program_(std::move(program)),
        done_(std::move(done)) {}

 private:
  enum class Step { kStop, kStart, kSpawnInfo };

  void Start() override {
    SendStep(kind_ == Kind::kRestart ? Step::kStop : Step::kStart);
  }

  void SendStep(Step step) {
    step_ = step;
    switch (step) {
      case Step::kStop:
        Send(EncodeXmlRpcCall("supervisor.stopProcess", {program_, true}));
        return;
      case Step::kStart:
        // A recovery does not wait out startsecs: a program that exits at
        // once has still been taken up again (FATAL, then BACKOFF, is
        // supervisord's to report at the next look).
        Send(EncodeXmlRpcCall("supervisor.startProcess",
                              {program_, kind_ != Kind::kRecover}));
        return;
      case Step::kSpawnInfo:
        Send(EncodeXmlRpcCall("supervisor.getProcessInfo", {program_}));
        return;
    }
  }

  void OnReply(const XmlRpcResponse& reply) override {
    switch (step_) {
      case Step::kStop:
        if (reply.is_fault && reply.fault.code != kNotRunning) {
          Finish(Status::Error(FaultReason(reply.fault, program_)));
          return;
        }
        SendStep(Step::kStart);
        return;
      case Step::kStart:
        if (!reply.is_fault || reply.fault.code == kAlreadyStarted) {
          Finish(Status::Ok());
          return;
        }
        if (reply.fault.code == kSpawnError) {
          // The fault only names the program; its spawnerr says why.
          spawn_fault_ = reply.fault.message;
          SendStep(Step::kSpawnInfo);
          return;
        }
        Finish(Status::Error(FaultReason(reply.fault, program_)));
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

  void Fail(Status status) override { Finish(std::move(status)); }

  void Finish(Status status) {
    StopTimer();
    // A local: `done` may destroy this call.
    Supervisor::Done done = std::move(done_);
    done(std::move(status));
  }

  const Kind kind_;
  const std::string program_;
  Supervisor::Done done_;
  Step step_ = Step::kStop;
  std::string spawn_fault_;  // the SPAWN_ERROR fault while asking why
};

// One batch of GetStatus: getProcessInfo of each program, in one
// system.multicall. Not getAllProcessInfo: with 1,000 programs that is
// 1.1 MB and ~1s of supervisord's CPU per request, whatever the batch.
class InfoCall final : public RpcCall {
 public:
  InfoCall(const Endpoint& endpoint, CurlMulti* curl, Duration timeout,
           std::vector<std::string> programs, StatusBatcher::FetchDone done)
      : RpcCall(endpoint, curl, timeout),
        programs_(std::move(programs)),
        done_(std::move(done)) {}

 private:
  void Start() override {
    std::vector<XmlRpcCall> calls;
    calls.reserve(programs_.size());
    for (const std::string& program : programs_) {
      calls.push_back({"supervisor.getProcessInfo", {program}});
    }
    Send(EncodeXmlRpcMulticall(calls));
  }

  void OnReply(const XmlRpcResponse& reply) override {
    if (reply.is_fault) {
      Fail(Status::Error(FaultReason(reply.fault, "")));
      return;
    }
    Result<std::vector<XmlRpcResponse>> results =
        DecodeXmlRpcMulticall(reply.value, programs_.size());
    if (!results.ok()) {
      Fail(Malformed(results.status().message()));
      return;
    }
    std::vector<StatusReply> replies;
    replies.reserve(programs_.size());
    for (size_t i = 0; i < programs_.size(); ++i) {
      const XmlRpcResponse& result = (*results)[i];
      if (result.is_fault) {
        replies.push_back(
            {Status::Error(FaultReason(result.fault, programs_[i])),
             result.fault.code == kBadName});
      } else {
        replies.push_back({ParseInfo(result.value)});
      }
    }
    Finish(std::move(replies));
  }

  void Fail(Status status) override { Finish(std::move(status)); }

  void Finish(Result<std::vector<StatusReply>> replies) {
    StopTimer();
    // A local: `done` may destroy this call.
    StatusBatcher::FetchDone done = std::move(done_);
    done(std::move(replies));
  }

  const std::vector<std::string> programs_;
  StatusBatcher::FetchDone done_;
};

class SupervisordSupervisor final : public Supervisor {
 public:
  SupervisordSupervisor(const Endpoint& endpoint, CurlMulti* curl,
                        Duration timeout)
      : endpoint_(endpoint),
        curl_(curl),
        timeout_(timeout),
        // The batcher may outlive this supervisor: it holds its own copies.
        batcher_(StatusBatcher::Create(
            curl->loop(),
            [endpoint, curl, timeout](const std::vector<std::string>& programs,
                                      StatusBatcher::FetchDone done) {
              auto call = std::make_unique<InfoCall>(endpoint, curl, timeout,
                                                     programs, std::move(done));
              call->Begin();
              return std::unique_ptr<SupervisorCall>(std::move(call));
            },
            {})) {}

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& program,
                                          Done done) override {
    return Act(ActionCall::Kind::kRestart, program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> Start(const ProgramRef& program,
                                        Done done) override {
    return Act(ActionCall::Kind::kStart, program, std::move(done));
  }

  // startProcess is all it takes: supervisord starts a FATAL program again
  // on request.
  std::unique_ptr<SupervisorCall> Recover(const ProgramRef& program,
                                          Done done) override {
    return Act(ActionCall::Kind::kRecover, program, std::move(done));
  }

  std::unique_ptr<SupervisorCall> GetStatusReply(
      const ProgramRef& program, StatusReplyDone done) override {
    return batcher_->Add(program.program, std::move(done));
  }

  bool reports_pid() const override { return true; }

 private:
  std::unique_ptr<SupervisorCall> Act(ActionCall::Kind kind,
                                      const ProgramRef& program, Done done) {
    auto call = std::make_unique<ActionCall>(endpoint_, curl_, timeout_, kind,
                                             program.program, std::move(done));
    call->Begin();
    return call;
  }

  const Endpoint endpoint_;
  CurlMulti* curl_;
  const Duration timeout_;
  const std::shared_ptr<StatusBatcher> batcher_;
};

}  // namespace

Result<std::unique_ptr<Supervisor>> MakeSupervisordSupervisor(
    const SupervisorConfig& config, CurlMulti* curl) {
  Result<Endpoint> endpoint = ParseEndpoint(config.url);
  if (!endpoint.ok()) return endpoint.status();
  return std::unique_ptr<Supervisor>(
      new SupervisordSupervisor(*endpoint, curl, config.timeout));
}

}  // namespace watchd
