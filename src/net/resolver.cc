#include "net/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include "core/event_loop.h"
#include "core/timer_wheel.h"
#include "net/ares_reply.h"
#include "net/ttl_cache.h"

namespace watchd {
namespace {

using std::chrono::seconds;

// How long NXDOMAIN and "no records" are remembered: briefly, so a name
// that appears is seen soon, yet a storm of probes does not hammer it.
constexpr Duration kNegativeTtl = seconds(5);
// Even a long TTL is re-asked within the hour.
constexpr Duration kMaxTtl = seconds(3600);
// Far more names than a configuration holds (one or two per check): the
// bound only stops a runaway, e.g. names piling up over many reloads.
constexpr size_t kMaxCacheEntries = 32768;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return s;
}

// The canonical text of an IPv4/IPv6 literal ("[::1]" too), or nullopt.
std::optional<std::string> IpLiteral(const std::string& host) {
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  unsigned char addr[sizeof(in6_addr)];
  char buf[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, h.c_str(), addr) == 1 &&
        inet_ntop(family, addr, buf, sizeof(buf)) != nullptr) {
      return std::string(buf);
    }
  }
  return std::nullopt;
}

// "a.b.c.d", "a.b.c.d:port", "v6", "[v6]", "[v6]:port" -> c-ares' CSV form.
Result<std::string> ServerCsv(const std::string& server) {
  std::string host = server;
  std::string port = "53";
  if (!server.empty() && server.front() == '[') {
    size_t close = server.find(']');
    if (close == std::string::npos) {
      return Status::Error("bad DNS server \"" + server + "\"");
    }
    host = server.substr(1, close - 1);
    std::string rest = server.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Status::Error("bad DNS server \"" + server + "\"");
      }
      port = rest.substr(1);
    }
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    size_t colon = server.find(':');
    host = server.substr(0, colon);
    port = server.substr(colon + 1);
  }
  std::optional<std::string> ip = IpLiteral(host);
  if (!ip) {
    return Status::Error("DNS server must be an IP address: \"" + server +
                         "\"");
  }
  const bool port_ok =
      !port.empty() && port.size() <= 5 &&
      std::all_of(port.begin(), port.end(),
                  [](unsigned char c) { return std::isdigit(c); }) &&
      std::stoi(port) >= 1 && std::stoi(port) <= 65535;
  if (!port_ok)
    return Status::Error("bad DNS server port in \"" + server + "\"");
  return ip->find(':') == std::string::npos ? *ip + ":" + port
                                            : "[" + *ip + "]:" + port;
}

std::string AresMessage(int status, const std::string& type_label) {
  switch (status) {
    case ARES_ENOTFOUND:
      return "NXDOMAIN";
    case ARES_ENODATA:
      return "no " + type_label + " records";
    case ARES_ETIMEOUT:
      return "DNS server timed out";
    case ARES_ECONNREFUSED:
      return "DNS server refused";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_EFORMERR:
      return "FORMERR";
    case ARES_ENOTIMP:
      return "NOTIMP";
    case ARES_EBADRESP:
      return "bad DNS response";
    case ARES_EBADNAME:
      return "bad DNS name";
    default:
      return ares_strerror(status);
  }
}

// The rcode a server must have sent to make c-ares report `status`.
int RcodeOf(int status) {
  switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
      return 0;
    case ARES_EFORMERR:
      return 1;
    case ARES_ESERVFAIL:
      return 2;
    case ARES_ENOTFOUND:
      return 3;
    case ARES_ENOTIMP:
      return 4;
    case ARES_EREFUSED:
      return 5;
    default:
      return -1;
  }
}

bool IsNegative(int status) {
  return status == ARES_ENOTFOUND || status == ARES_ENODATA;
}

// When the CNAMEs of a reply without the records asked for lead from
// `name` around a loop, says so: "CNAME loop: a.test -> b.test -> a.test".
// (c-ares reads one reply and chases nothing; bare, that is "no A records".)
// Servers list a chain in its order; a loop of more than four names is
// summed up rather than listed.
std::optional<std::string> CnameLoop(const unsigned char* abuf, int alen,
                                     std::string name) {
  DnsReply cnames;
  if (ParseDnsReply(abuf, alen, DnsTypeCode("CNAME"), &cnames) !=
      ARES_SUCCESS) {
    return std::nullopt;
  }
  while (name.size() > 1 && name.back() == '.') name.pop_back();
  std::vector<std::string> chain = {Lower(name)};
  std::unordered_set<std::string> seen = {chain.back()};
  for (const std::string& target : cnames.records) {
    chain.push_back(Lower(target));
    if (seen.insert(chain.back()).second) continue;
    const auto start = std::find(chain.begin(), chain.end(), chain.back());
    const size_t names = static_cast<size_t>(chain.end() - start) - 1;
    if (names > 4) {
      return "CNAME loop of " + std::to_string(names) + " names through " +
             chain.back();
    }
    std::string loop = "CNAME loop: ";
    for (auto it = start; it != chain.end(); ++it) {
      loop += (it == start ? "" : " -> ") + *it;
    }
    return loop;
  }
  return std::nullopt;
}

Duration FromTimeval(const timeval& tv) {
  return seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
}

class CaresResolver : public Resolver {
 public:
  explicit CaresResolver(EventLoop* loop) : loop_(loop) {}
  ~CaresResolver() override;

  Status Init(const std::optional<std::string>& server,
              const ResolverOptions& options);

  RequestId Resolve(const std::string& host, ResolveCallback cb) override {
    return Start(host, "", std::move(cb), /*use_cache=*/true);
  }
  RequestId Query(const std::string& name, const std::string& type,
                  QueryCallback cb) override {
    return Start(name, Upper(type), std::move(cb), /*use_cache=*/true);
  }
  RequestId QueryUncached(const std::string& name, const std::string& type,
                          QueryCallback cb) override {
    return Start(name, Upper(type), std::move(cb), /*use_cache=*/false);
  }
  void Cancel(RequestId id) override { pending_.erase(id); }

 private:
  using Callback = std::variant<ResolveCallback, QueryCallback>;

  // What one lookup found: addresses (Resolve) or records (Query).
  struct Outcome {
    Status status;
    int rcode = 0;
    std::vector<std::string> items;
  };
  using SharedOutcome = std::shared_ptr<const Outcome>;

  struct Request {
    Callback cb;
    TimePoint started;
  };

  // One c-ares lookup (its callback argument) and the requests waiting on
  // it: identical cached requests in flight share one lookup.
  struct Lookup {
    CaresResolver* resolver;
    std::string key;
    std::string type;  // "" for address resolution
    std::vector<RequestId> waiters;
    std::string name;  // as asked
  };

  struct Completion {
    RequestId id;
    SharedOutcome outcome;
    TimePoint done;
  };

  // type: "" resolves addresses, else a query of that (upper-case) type.
  RequestId Start(const std::string& name, const std::string& type, Callback cb,
                  bool use_cache);
  void Finish(Lookup* lookup, Outcome outcome, std::optional<Duration> ttl);
  // Calls back the completed requests; `this` may be gone afterwards.
  void Deliver();
  void Store(const std::string& key, SharedOutcome outcome, Duration ttl);
  void RearmTimer();
  void OnSockState(int fd, bool readable, bool writable);
  void OnSocketEvent(int fd, uint32_t events);
  void OnTimer();

  static void Call(const Callback& cb, const Outcome& outcome,
                   Duration lookup_time, bool from_cache);
  static void OnAddrInfo(void* arg, int status, int timeouts,
                         ares_addrinfo* res);
  static void OnQueryReply(void* arg, int status, int timeouts,
                           unsigned char* abuf, int alen);

  EventLoop* loop_;
  ares_channel channel_ = nullptr;
  Timer timer_;
  RequestId next_id_ = 1;
  std::unordered_map<RequestId, Request> pending_;
  std::unordered_map<std::string, Lookup*> in_flight_;
  TtlCache<SharedOutcome> cache_{kMaxCacheEntries};
  std::deque<Completion> completed_;
  bool delivering_ = false;
  bool destroying_ = false;
  // Expires with the resolver: tells Deliver that a callback destroyed it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

CaresResolver::~CaresResolver() {
  destroying_ = true;
  // Calls every pending c-ares callback with ARES_EDESTRUCTION (Finish
  // drops them) and unwatches every socket through OnSockState.
  if (channel_ != nullptr) ares_destroy(channel_);
}

Status CaresResolver::Init(const std::optional<std::string>& server,
                           const ResolverOptions& options) {
  // A no-op on Linux, but the documented first step of using c-ares.
  static const int library_status = ares_library_init(ARES_LIB_INIT_ALL);
  if (library_status != ARES_SUCCESS) {
    return Status::Error(std::string("c-ares: ") +
                         ares_strerror(library_status));
  }
  std::optional<std::string> csv;
  if (server) {
    Result<std::string> parsed = ServerCsv(*server);
    if (!parsed.ok()) return parsed.status();
    csv = *parsed;
  }
  ares_options opts{};
  opts.sock_state_cb = [](void* data, ares_socket_t fd, int readable,
                          int writable) {
    static_cast<CaresResolver*>(data)->OnSockState(fd, readable != 0,
                                                   writable != 0);
  };
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(
             options.attempt_timeout)
             .count()));
  opts.tries = std::max(1, options.tries);
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (server) {
    // A named server is what a dns probe tests: report its SERVFAIL or
    // REFUSED as such. With the system's servers c-ares instead moves on
    // to the next one, as the C library would.
    opts.flags = ARES_FLAG_NOCHECKRESP;
    mask |= ARES_OPT_FLAGS;
  }
  int rc = ares_init_options(&channel_, &opts, mask);
  if (rc != ARES_SUCCESS) {
    channel_ = nullptr;
    return Status::Error(std::string("c-ares init: ") + ares_strerror(rc));
  }
  if (csv) {
    rc = ares_set_servers_ports_csv(channel_, csv->c_str());
    if (rc != ARES_SUCCESS) {
      return Status::Error("DNS server \"" + *server +
                           "\": " + ares_strerror(rc));
    }
  }
  timer_.set_callback([this] { OnTimer(); });
  return Status::Ok();
}

Resolver::RequestId CaresResolver::Start(const std::string& name,
                                         const std::string& type, Callback cb,
                                         bool use_cache) {
  const RequestId id = next_id_++;
  const bool resolving = type.empty();
  if (resolving) {
    if (std::optional<std::string> ip = IpLiteral(name)) {
      Call(cb, Outcome{Status::Ok(), 0, {*ip}}, Duration::zero(), false);
      return id;
    }
  } else if (DnsTypeCode(type) == 0) {
    Call(cb,
         Outcome{
             Status::Error("unsupported record type \"" + type + "\""), -1, {}},
         Duration::zero(), false);
    return id;
  }
  const std::string key = (resolving ? "*" : type) + " " + Lower(name);
  const TimePoint now = loop_->Now();
  if (use_cache) {
    if (const SharedOutcome* hit = cache_.Find(key, now)) {
      // A copy: the callback may store into the cache or destroy it.
      SharedOutcome outcome = *hit;
      Call(cb, *outcome, Duration::zero(), true);
      return id;
    }
  }
  pending_.emplace(id, Request{std::move(cb), now});
  if (use_cache) {
    auto joined = in_flight_.find(key);
    if (joined != in_flight_.end()) {
      joined->second->waiters.push_back(id);
      return id;
    }
  }
  auto* lookup = new Lookup{this, key, type, {id}, name};
  if (use_cache) in_flight_.emplace(key, lookup);
  // Registered before the call: c-ares may complete it at once (/etc/hosts,
  // a bad name), through Finish.
  if (resolving) {
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    // Our own order (IPv4 first) replaces RFC 6724 sorting, which would
    // open a socket per address to find its source address.
    hints.ai_flags = ARES_AI_NOSORT;
    ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &OnAddrInfo,
                     lookup);
  } else {
    ares_query(channel_, name.c_str(), ns_c_in, DnsTypeCode(type),
               &OnQueryReply, lookup);
  }
  RearmTimer();
  Deliver();
  return id;
}

void CaresResolver::OnAddrInfo(void* arg, int status, int /*timeouts*/,
                               ares_addrinfo* res) {
  auto* lookup = static_cast<Lookup*>(arg);
  Outcome outcome;
  std::optional<Duration> ttl;
  if (status == ARES_SUCCESS && res != nullptr) {
    std::vector<std::string> v4;
    std::vector<std::string> v6;
    char buf[INET6_ADDRSTRLEN];
    for (ares_addrinfo_node* n = res->nodes; n != nullptr; n = n->ai_next) {
      const void* addr = nullptr;
      if (n->ai_family == AF_INET) {
        addr = &reinterpret_cast<sockaddr_in*>(n->ai_addr)->sin_addr;
      } else if (n->ai_family == AF_INET6) {
        addr = &reinterpret_cast<sockaddr_in6*>(n->ai_addr)->sin6_addr;
      } else {
        continue;
      }
      if (inet_ntop(n->ai_family, addr, buf, sizeof(buf)) == nullptr) continue;
      auto& list = n->ai_family == AF_INET ? v4 : v6;
      if (std::find(list.begin(), list.end(), buf) == list.end()) {
        list.emplace_back(buf);
      }
      Duration node_ttl = seconds(std::max(0, n->ai_ttl));
      if (!ttl || node_ttl < *ttl) ttl = node_ttl;
    }
    for (ares_addrinfo_cname* c = res->cnames; c != nullptr; c = c->next) {
      Duration cname_ttl = seconds(std::max(0, c->ttl));
      if (!ttl || cname_ttl < *ttl) ttl = cname_ttl;
    }
    outcome.items = std::move(v4);
    outcome.items.insert(outcome.items.end(), v6.begin(), v6.end());
    if (outcome.items.empty()) status = ARES_ENODATA;
  }
  if (res != nullptr) ares_freeaddrinfo(res);
  if (status != ARES_SUCCESS) {
    outcome.items.clear();
    outcome.status = Status::Error(AresMessage(status, "A/AAAA"));
    ttl = IsNegative(status) ? std::optional<Duration>(kNegativeTtl)
                             : std::nullopt;
  }
  outcome.rcode = RcodeOf(status);
  lookup->resolver->Finish(lookup, std::move(outcome), ttl);
}

void CaresResolver::OnQueryReply(void* arg, int status, int /*timeouts*/,
                                 unsigned char* abuf, int alen) {
  auto* lookup = static_cast<Lookup*>(arg);
  Outcome outcome;
  std::optional<Duration> ttl;
  outcome.rcode = RcodeOf(status);
  if (abuf != nullptr && alen >= 4) outcome.rcode = abuf[3] & 0x0f;
  if (status == ARES_SUCCESS) {
    DnsReply reply;
    status = ParseDnsReply(abuf, alen, DnsTypeCode(lookup->type), &reply);
    if (status == ARES_SUCCESS) {
      outcome.items = std::move(reply.records);
      ttl = seconds(reply.min_ttl.value_or(0));
    }
  }
  std::optional<std::string> loop;
  if (status == ARES_ENODATA && lookup->type != "CNAME") {
    loop = CnameLoop(abuf, alen, lookup->name);
  }
  if (status != ARES_SUCCESS) {
    outcome.status =
        Status::Error(loop.value_or(AresMessage(status, lookup->type)));
    if (IsNegative(status)) ttl = kNegativeTtl;
  }
  lookup->resolver->Finish(lookup, std::move(outcome), ttl);
}

void CaresResolver::Finish(Lookup* lookup, Outcome outcome,
                           std::optional<Duration> ttl) {
  std::unique_ptr<Lookup> owned(lookup);
  if (destroying_) return;
  auto shared = std::make_shared<const Outcome>(std::move(outcome));
  auto it = in_flight_.find(lookup->key);
  if (it != in_flight_.end() && it->second == lookup) in_flight_.erase(it);
  if (ttl && *ttl > Duration::zero()) Store(lookup->key, shared, *ttl);
  const TimePoint now = loop_->Now();
  for (RequestId id : lookup->waiters) completed_.push_back({id, shared, now});
}

void CaresResolver::Deliver() {
  // A callback that starts a lookup completing at once lands here again;
  // the outer loop delivers that one too.
  if (delivering_) return;
  delivering_ = true;
  std::weak_ptr<int> alive = alive_;
  while (!completed_.empty()) {
    Completion c = std::move(completed_.front());
    completed_.pop_front();
    auto it = pending_.find(c.id);
    if (it == pending_.end()) continue;  // cancelled
    Request request = std::move(it->second);
    pending_.erase(it);
    Call(request.cb, *c.outcome, c.done - request.started, false);
    if (alive.expired()) return;
  }
  delivering_ = false;
}

void CaresResolver::Call(const Callback& cb, const Outcome& outcome,
                         Duration lookup_time, bool from_cache) {
  if (const auto* resolve = std::get_if<ResolveCallback>(&cb)) {
    ResolveAnswer answer;
    answer.status = outcome.status;
    answer.addresses = outcome.items;
    answer.lookup_time = lookup_time;
    answer.from_cache = from_cache;
    (*resolve)(answer);
  } else {
    QueryAnswer answer;
    answer.status = outcome.status;
    answer.rcode = outcome.rcode;
    answer.records = outcome.items;
    answer.lookup_time = lookup_time;
    answer.from_cache = from_cache;
    std::get<QueryCallback>(cb)(answer);
  }
}

void CaresResolver::Store(const std::string& key, SharedOutcome outcome,
                          Duration ttl) {
  const TimePoint now = loop_->Now();
  cache_.Store(key, std::move(outcome), now + std::min(ttl, kMaxTtl), now);
}

void CaresResolver::RearmTimer() {
  timeval tv;
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    loop_->Cancel(&timer_);
    return;
  }
  // Rounded up past c-ares' own deadline, so that it has surely expired
  // when the timer fires.
  loop_->ScheduleAfter(&timer_, FromTimeval(tv) + std::chrono::milliseconds(1));
}

void CaresResolver::OnSockState(int fd, bool readable, bool writable) {
  if (!readable && !writable) {
    loop_->Unwatch(fd);
    return;
  }
  const uint32_t events =
      (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
  // A failed watch leaves the query to time out on the timer.
  (void)loop_->Watch(fd, events,
                     [this, fd](uint32_t ready) { OnSocketEvent(fd, ready); });
}

void CaresResolver::OnSocketEvent(int fd, uint32_t events) {
  const bool error = (events & (EPOLLERR | EPOLLHUP)) != 0;
  ares_socket_t read_fd =
      (events & EPOLLIN) != 0 || error ? fd : ARES_SOCKET_BAD;
  ares_socket_t write_fd =
      (events & EPOLLOUT) != 0 || error ? fd : ARES_SOCKET_BAD;
  ares_process_fd(channel_, read_fd, write_fd);
  RearmTimer();
  Deliver();
}

void CaresResolver::OnTimer() {
  ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  RearmTimer();
  Deliver();
}

}  // namespace

Result<std::unique_ptr<Resolver>> Resolver::Create(
    EventLoop* loop, const std::optional<std::string>& server,
    const ResolverOptions& options) {
  auto resolver = std::make_unique<CaresResolver>(loop);
  Status status = resolver->Init(server, options);
  if (!status.ok()) return status;
  return std::unique_ptr<Resolver>(std::move(resolver));
}

}  // namespace watchd
