#include "metrics/scrape_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "metrics/text_writer.h"

namespace watchd {
namespace {

// Added to the nice value of the server's threads (the loop keeps the
// process's).
constexpr int kWorkerNice = 10;

// Below the event loop: rendering a large scrape (22 MiB at 10,000 checks)
// takes tens of ms of CPU, which on a busy small host would otherwise be
// taken from the loop and make probes start late. On Linux the nice value
// is per thread, so this lowers only the calling thread.
void Lower() { [[maybe_unused]] int nice_value = nice(kWorkerNice); }

using Clock = std::chrono::steady_clock;

// Request line and headers; a scraper sends a few hundred bytes.
constexpr size_t kMaxRequest = 8 * 1024;
// After a response, how long (and how much of) what the client still sends
// is drained.
constexpr std::chrono::milliseconds kLinger{1000};
constexpr size_t kMaxLingerBytes = 1 << 20;

constexpr std::string_view kMetricsHead =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
    "Connection: close\r\n\r\n";
constexpr std::string_view kIndexPage =
    "<!DOCTYPE html>\n<html><head><title>watchd</title></head>\n"
    "<body><h1>watchd</h1><p><a href=\"/metrics\">Metrics</a></p></body>"
    "</html>\n";
// The page at / shows names and reasons that come from configs and the
// network: it is escaped, and the browser is told to run no script, load
// nothing and keep no copy, should escaping ever miss.
constexpr std::string_view kPageHeaders =
    "Cache-Control: no-store\r\n"
    "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n";
// While the page cannot be had, the browser keeps asking as the page does.
constexpr std::string_view kUnavailablePage =
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    "<meta http-equiv=\"refresh\" content=\"5\"><title>watchd</title></head>"
    "\n<body><h1>watchd</h1><p>The status is not available: watchd's event "
    "loop did not answer in time. This page tries again every 5 seconds.</p>"
    "<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

std::string Response(std::string_view status, std::string_view type,
                     std::string_view body, bool head,
                     std::string_view extra_headers = "") {
  std::string response = "HTTP/1.1 ";
  response.append(status);
  response.append("\r\nContent-Type: ");
  response.append(type);
  response.append("\r\nContent-Length: ");
  response.append(std::to_string(body.size()));
  response.append("\r\n");
  response.append(extra_headers);
  response.append("Connection: close\r\n\r\n");
  if (!head) response.append(body);
  return response;
}

std::string PlainResponse(std::string_view status, bool head,
                          std::string_view extra_headers = "") {
  return Response(status, "text/plain; charset=utf-8",
                  std::string(status) + "\n", head, extra_headers);
}

enum class Wait { kReady, kTimeout, kStopped };

// Waits for `events` on `fd` (or an error, which the next call on it
// reports) until `deadline`, and returns at once when the server stops
// (`wake_fd` readable).
Wait WaitFor(int fd, short events, int wake_fd, Clock::time_point deadline) {
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Wait::kTimeout;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    int n =
        poll(fds, 2,
             static_cast<int>(std::min<int64_t>(left.count(), 60 * 60 * 1000)));
    if (n < 0 && errno != EINTR) return Wait::kStopped;
    if (fds[1].revents != 0) return Wait::kStopped;
    if (n > 0 && fds[0].revents != 0) return Wait::kReady;
  }
}

void Notify(int event_fd) {
  uint64_t one = 1;
  // Cannot fail: the counter is far from overflowing.
  [[maybe_unused]] ssize_t n = write(event_fd, &one, sizeof(one));
}

// What a complete request asks for.
struct Route {
  enum Kind { kMetrics, kPage, kAnswer } kind;
  bool head = false;
  std::string answer;  // kAnswer: the whole response
};

// `request` holds the request line and headers.
Route RouteOf(std::string_view request, bool has_page) {
  std::string_view line = request.substr(0, request.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // "METHOD TARGET HTTP/1.x"
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  std::string_view method = line.substr(0, first);
  std::string_view target =
      first < last ? line.substr(first + 1, last - first - 1) : "";
  std::string_view path = target.substr(0, target.find('?'));
  bool head = method == "HEAD";
  if (first == std::string_view::npos || first == last ||
      !line.substr(last + 1).starts_with("HTTP/1.")) {
    return {Route::kAnswer, false, PlainResponse("400 Bad Request", false)};
  }
  if (path != "/metrics" && path != "/") {
    return {Route::kAnswer, head, PlainResponse("404 Not Found", head)};
  }
  if (method != "GET" && !head) {
    return {
        Route::kAnswer, false,
        PlainResponse("405 Method Not Allowed", false, "Allow: GET, HEAD\r\n")};
  }
  if (path == "/metrics") return {Route::kMetrics, head, ""};
  if (has_page) return {Route::kPage, head, ""};
  return {Route::kAnswer, head,
          Response("200 OK", "text/html; charset=utf-8", kIndexPage, head)};
}

}  // namespace

// The accepting thread: every connection that is not being answered by a
// worker, in one epoll set, each with its deadline. Nothing here blocks.
class ScrapeServer::Acceptor {
 public:
  explicit Acceptor(ScrapeServer& server) : server_(server) {}
  ~Acceptor() {
    for (auto& [fd, connection] : connections_) close(fd);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  void Run() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return;
    for (int fd : {server_.wake_fd_, server_.done_fd_}) Watch(fd);
    Listen(true);
    epoll_event events[64];
    for (;;) {
      int n = epoll_wait(epoll_fd_, events, 64, TimeoutMs());
      if (n < 0 && errno != EINTR) return;
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == server_.wake_fd_) return;
        if (fd == server_.done_fd_) {
          TakeBack();
        } else if (fd == server_.listen_fd_) {
          AcceptAll();
        } else {
          OnReadable(fd);
        }
      }
      Expire();
    }
  }

 private:
  struct Connection {
    Clock::time_point accepted;
    Clock::time_point deadline;
    bool lingering = false;
    size_t drained = 0;
    std::string request;  // until complete
  };

  void Watch(int fd) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }

  // Accepting is paused while every connection is taken by a worker (the
  // others wait in the backlog) or while descriptors or memory run out.
  void Listen(bool on) {
    if (on == listening_) return;
    listening_ = on;
    if (on) {
      Watch(server_.listen_fd_);
    } else {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, server_.listen_fd_, nullptr);
    }
  }

  int Held() const {
    return static_cast<int>(connections_.size()) + with_workers_;
  }

  void AcceptAll() {
    const int limit = std::max(server_.options_.max_connections, 1);
    // Connections accepted from here on are read before any of them may
    // be dropped: a burst must not push out requests never looked at.
    const Clock::time_point batch = Clock::now();
    while (listening_) {
      int fd = accept4(server_.listen_fd_, nullptr, nullptr,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
          // Out of descriptors or memory: try again once some are freed
          // rather than spin.
          Listen(false);
          resume_at_ = Clock::now() + kPauseOnExhaustion;
        }
        return;
      }
      if (Held() >= limit && !DropOldest(batch)) {
        // This one is let in over the limit and the rest wait in the
        // backlog: until a worker hands a connection back, or, when those
        // of this batch hold the room, once they have been read.
        Listen(false);
        if (!connections_.empty()) resume_at_ = batch + kBatchRead;
      }
      int on = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
      Clock::time_point now = Clock::now();
      Connection& connection = connections_[fd];
      connection.accepted = now;
      connection.deadline = now + server_.options_.request_timeout;
      Watch(fd);
    }
  }

  // Makes room for a new connection by dropping one accepted before
  // `batch`: the longest drained, else the longest held without a whole
  // request; false when there is none (the others are with workers).
  bool DropOldest(Clock::time_point batch) {
    auto oldest = connections_.end();
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
      const Connection& c = it->second;
      if (c.accepted >= batch) continue;
      if (oldest == connections_.end() ||
          std::pair(!c.lingering, c.accepted) <
              std::pair(!oldest->second.lingering, oldest->second.accepted)) {
        oldest = it;
      }
    }
    if (oldest == connections_.end()) return false;
    Close(oldest->first);
    return true;
  }

  void OnReadable(int fd) {
    auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& connection = it->second;
    char buffer[4096];
    for (;;) {
      ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        Close(fd);
        return;
      }
      if (n < 0) {
        if (errno == EAGAIN) return;
        continue;
      }
      if (connection.lingering) {
        connection.drained += static_cast<size_t>(n);
        if (connection.drained >= kMaxLingerBytes) {
          Close(fd);
          return;
        }
        continue;
      }
      size_t searched =
          connection.request.size() < 3 ? 0 : connection.request.size() - 3;
      connection.request.append(buffer, static_cast<size_t>(n));
      std::string_view request = connection.request;
      size_t end = request.find("\n\r\n", searched);
      if (end == std::string_view::npos) end = request.find("\n\n", searched);
      if (end != std::string_view::npos) {
        OnRequest(fd, request.substr(0, end + 1));
        return;
      }
      if (request.size() >= kMaxRequest) {
        Answer(fd, PlainResponse("431 Request Header Fields Too Large", false));
        return;
      }
    }
  }

  void OnRequest(int fd, std::string_view request) {
    Route route = RouteOf(request, server_.ask_page_ != nullptr);
    if (route.kind == Route::kAnswer) {
      Answer(fd, route.answer);
      return;
    }
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    connections_.erase(fd);
    ++with_workers_;
    server_.Enqueue({fd, route.kind == Route::kPage, route.head});
  }

  // A response of a few hundred bytes: a new connection's send buffer
  // takes it whole.
  void Answer(int fd, std::string_view response) {
    if (send(fd, response.data(), response.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(response.size())) {
      Close(fd);
      return;
    }
    Linger(fd, connections_[fd]);
  }

  // Ends the response, then reads what the client still sends until it
  // closes too (briefly: it was told Connection: close). Closing with
  // request bytes unread would reset the connection, and could destroy the
  // tail of the response before the client has read it.
  void Linger(int fd, Connection& connection) {
    shutdown(fd, SHUT_WR);
    connection.lingering = true;
    connection.request = std::string();
    connection.deadline = Clock::now() + kLinger;
  }

  void TakeBack() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(server_.done_fd_, &count, sizeof(count));
    for (const Done& done : server_.TakeDone()) {
      --with_workers_;
      if (!done.linger) {
        close(done.fd);
        continue;
      }
      Connection& connection = connections_[done.fd];
      connection.accepted = Clock::now();
      Linger(done.fd, connection);
      Watch(done.fd);
    }
    if (resume_at_ == Clock::time_point()) Listen(true);
  }

  void Close(int fd) {
    connections_.erase(fd);
    // Closing removes it from the epoll set.
    close(fd);
  }

  int TimeoutMs() const {
    Clock::time_point next = Clock::time_point::max();
    if (resume_at_ != Clock::time_point()) next = resume_at_;
    for (const auto& [fd, connection] : connections_) {
      next = std::min(next, connection.deadline);
    }
    if (next == Clock::time_point::max()) return -1;
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, 60 * 1000));
  }

  void Expire() {
    Clock::time_point now = Clock::now();
    if (resume_at_ != Clock::time_point() && now >= resume_at_) {
      resume_at_ = Clock::time_point();
      Listen(true);
    }
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (now < it->second.deadline) {
        ++it;
        continue;
      }
      close(it->first);
      it = connections_.erase(it);
    }
  }

  static constexpr std::chrono::milliseconds kPauseOnExhaustion{100};
  // How long connections of a burst that filled the room get to be read
  // before accepting resumes.
  static constexpr std::chrono::milliseconds kBatchRead{10};

  ScrapeServer& server_;
  int epoll_fd_ = -1;
  bool listening_ = false;
  Clock::time_point resume_at_;  // a paused accept resumes; zero: not paused
  std::unordered_map<int, Connection> connections_;
  int with_workers_ = 0;  // jobs queued or being answered
};

// Writes one response on a worker: gives up when the client takes nothing
// for the send timeout, when another request waits for a worker while the
// client takes less than kYieldBytes a kYield, when the whole response
// takes longer than the response timeout, or when the server stops.
class ScrapeServer::Sender {
 public:
  Sender(const ScrapeServer& server, int fd)
      : server_(server),
        fd_(fd),
        deadline_(Clock::now() + server.options_.response_timeout),
        progress_(Clock::now()),
        window_(progress_) {}

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        window_bytes_ += static_cast<size_t>(n);
        progress_ = Clock::now();
        // A client reading faster than the response is made never waits
        // below, and is held to the deadline here.
        if (progress_ >= deadline_) return false;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        if (!WaitWritable()) return false;
      } else {
        return false;
      }
    }
    return true;
  }

 private:
  bool WaitWritable() {
    for (;;) {
      Clock::time_point now = Clock::now();
      if (now >=
          std::min(deadline_, progress_ + server_.options_.send_timeout)) {
        return false;
      }
      if (now >= window_ + kYield) {
        if (window_bytes_ < kYieldBytes && server_.waiting_.load() > 0) {
          return false;
        }
        window_ = now;
        window_bytes_ = 0;
      }
      switch (WaitFor(
          fd_, POLLOUT, server_.wake_fd_,
          std::min({deadline_, progress_ + server_.options_.send_timeout,
                    window_ + kYield}))) {
        case Wait::kReady:
          return true;
        case Wait::kStopped:
          return false;
        case Wait::kTimeout:
          break;
      }
    }
  }

  // While a request waits for a worker, a client taking less than 64 KiB/s
  // gives its worker up: a scraper that stalls, or reads a segment now and
  // then, must not hold up the next. Short, so that many of them delay a
  // scrape by a fraction of a second each.
  static constexpr std::chrono::milliseconds kYield{250};
  static constexpr size_t kYieldBytes = 16 * 1024;

  const ScrapeServer& server_;
  const int fd_;
  const Clock::time_point deadline_;
  Clock::time_point progress_;
  Clock::time_point window_;  // the current kYield window began
  size_t window_bytes_ = 0;   // sent in it
};

struct PageReply::State {
  explicit State(int fd) : event_fd(fd) {}
  ~State() { close(event_fd); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Readable once answered: the worker waits on it with the server's stop.
  const int event_fd;
  std::mutex mutex;
  bool answered = false;                // guarded by mutex
  std::function<std::string()> render;  // guarded by mutex
};

void PageReply::Send(std::function<std::string()> render) const {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (state_->answered) return;
    state_->answered = true;
    state_->render = std::move(render);
  }
  Notify(state_->event_fd);
}

Result<std::unique_ptr<ScrapeServer>> ScrapeServer::Start(
    int listen_fd, WriteMetrics write_metrics,
    const ScrapeServerOptions& options, AskPage ask_page) {
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  int done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0 || done_fd < 0) {
    Status error = Status::Error(std::string("eventfd: ") + strerror(errno));
    for (int fd : {listen_fd, wake_fd, done_fd}) {
      if (fd >= 0) close(fd);
    }
    return error;
  }
  std::unique_ptr<ScrapeServer> server(
      new ScrapeServer(listen_fd, wake_fd, done_fd, std::move(write_metrics),
                       std::move(ask_page), options));
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length) !=
      0) {
    return Status::Error(std::string("getsockname: ") + strerror(errno));
  }
  server->port_ =
      ntohs(address.ss_family == AF_INET6
                ? reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port
                : reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  try {
    server->acceptor_ = std::thread([s = server.get()] {
      Lower();
      Acceptor(*s).Run();
    });
    for (int i = 0; i < std::max(options.workers, 1); ++i) {
      server->workers_.emplace_back([s = server.get()] { s->Work(); });
    }
  } catch (const std::system_error& e) {
    // The destructor stops the threads already started.
    return Status::Error(std::string("cannot start a thread: ") + e.what());
  }
  return server;
}

ScrapeServer::ScrapeServer(int listen_fd, int wake_fd, int done_fd,
                           WriteMetrics write_metrics, AskPage ask_page,
                           const ScrapeServerOptions& options)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      done_fd_(done_fd),
      write_metrics_(std::move(write_metrics)),
      ask_page_(std::move(ask_page)),
      options_(options) {}

ScrapeServer::~ScrapeServer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  job_ready_.notify_all();
  Notify(wake_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  for (std::thread& worker : workers_) worker.join();
  for (const Job& job : jobs_) close(job.fd);
  for (const Done& done : done_) close(done.fd);
  close(listen_fd_);
  close(wake_fd_);
  close(done_fd_);
}

void ScrapeServer::Enqueue(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(job);
    CountWaiting();
  }
  job_ready_.notify_one();
}

void ScrapeServer::CountWaiting() {
  waiting_ = jobs_.size() > idle_ ? jobs_.size() - idle_ : 0;
}

void ScrapeServer::HandBack(Done done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    done_.push_back(done);
  }
  Notify(done_fd_);
}

std::vector<ScrapeServer::Done> ScrapeServer::TakeDone() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(done_, {});
}

void ScrapeServer::Work() {
  Lower();
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ++idle_;
      CountWaiting();
      job_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (stopping_) return;
      job = jobs_.front();
      jobs_.pop_front();
      CountWaiting();
    }
    HandBack({job.fd, Serve(job)});
  }
}

bool ScrapeServer::Serve(const Job& job) {
  Sender sender(*this, job.fd);
  if (job.page) return sender.Send(PageResponse(job.head));
  if (!sender.Send(kMetricsHead)) return false;
  if (job.head) return true;
  TextWriter writer([&](std::string_view text) { return sender.Send(text); });
  write_metrics_(writer);
  return writer.Flush();
}

std::string ScrapeServer::PageResponse(bool head) {
  auto unavailable = [head] {
    return Response("503 Service Unavailable", "text/html; charset=utf-8",
                    kUnavailablePage, head, "Retry-After: 5\r\n");
  };
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return unavailable();
  auto state = std::make_shared<PageReply::State>(fd);
  ask_page_(PageReply(state));
  // The answer may still come after this gives up: it then goes to `state`
  // alone, which the last copy of the reply frees.
  if (WaitFor(fd, POLLIN, wake_fd_, Clock::now() + options_.page_timeout) !=
      Wait::kReady) {
    return unavailable();
  }
  std::function<std::string()> render;
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    render = std::move(state->render);
  }
  if (!render) return unavailable();
  return Response("200 OK", "text/html; charset=utf-8", render(), head,
                  kPageHeaders);
}

}  // namespace watchd
