#include "metrics/scrape_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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
#include <utility>

#include "metrics/text_writer.h"

namespace watchd {
namespace {

// Added to the nice value of worker threads (the loop keeps the process's).
constexpr int kWorkerNice = 10;

using Clock = std::chrono::steady_clock;

// Request line and headers; a scraper sends a few hundred bytes.
constexpr size_t kMaxRequest = 8 * 1024;
// After a response, how long unread request bytes are drained: closing
// with them unread would reset the connection, and could destroy the tail
// of the response before the client has read it.
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

// True once `fd` has `events` (or an error, which the next call on it
// reports); false on the deadline or when the server stops (`wake_fd`
// readable): a stopping server makes every wait fail at once.
bool WaitReady(int fd, short events, int wake_fd, Clock::time_point deadline) {
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    int n =
        poll(fds, 2,
             static_cast<int>(std::min<int64_t>(left.count(), 60 * 60 * 1000)));
    if (n < 0 && errno != EINTR) return false;
    if (fds[1].revents != 0) return false;
    if (n > 0 && fds[0].revents != 0) return true;
  }
}

// Waits without blocking the server's stop.
class Connection {
 public:
  Connection(int fd, int wake_fd) : fd_(fd), wake_fd_(wake_fd) {}
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  enum class ReadResult { kOk, kTooLarge, kFailed };

  // Reads up to the blank line that ends the request headers, into
  // `buffer`; the request line is put in *line. kFailed: the client closed,
  // failed or was too slow, or the server stops.
  ReadResult ReadRequest(std::array<char, kMaxRequest>& buffer,
                         std::chrono::milliseconds timeout,
                         std::string_view* line) {
    Clock::time_point deadline = Clock::now() + timeout;
    size_t size = 0;
    for (;;) {
      std::string_view read(buffer.data(), size);
      size_t end = read.find("\n\r\n");
      if (end == std::string_view::npos) end = read.find("\n\n");
      if (end != std::string_view::npos) {
        *line = read.substr(0, read.find('\n'));
        if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
        return ReadResult::kOk;
      }
      if (size == buffer.size()) return ReadResult::kTooLarge;
      if (!Wait(POLLIN, deadline)) return ReadResult::kFailed;
      ssize_t n = recv(fd_, buffer.data() + size, buffer.size() - size, 0);
      if (n > 0) {
        size += static_cast<size_t>(n);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        return ReadResult::kFailed;
      }
    }
  }

  // False when the client failed, took nothing for `stall_timeout`, or the
  // server stops.
  bool Send(std::string_view data, std::chrono::milliseconds stall_timeout) {
    while (!data.empty()) {
      ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!Wait(POLLOUT, Clock::now() + stall_timeout)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

  // Ends the response, then reads what the client still sends until it
  // closes too (briefly: it was told Connection: close).
  void Linger() {
    shutdown(fd_, SHUT_WR);
    Clock::time_point deadline = Clock::now() + kLinger;
    char sink[4096];
    size_t drained = 0;
    while (drained < kMaxLingerBytes && Wait(POLLIN, deadline)) {
      ssize_t n = recv(fd_, sink, sizeof(sink), 0);
      if (n > 0) {
        drained += static_cast<size_t>(n);
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        return;
      }
    }
  }

 private:
  bool Wait(short events, Clock::time_point deadline) {
    return WaitReady(fd_, events, wake_fd_, deadline);
  }

  const int fd_;
  const int wake_fd_;
};

}  // namespace

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
  uint64_t one = 1;
  // Cannot fail: the counter is far from overflowing.
  [[maybe_unused]] ssize_t n = write(state_->event_fd, &one, sizeof(one));
}

Result<std::unique_ptr<ScrapeServer>> ScrapeServer::Start(
    int listen_fd, WriteMetrics write_metrics,
    const ScrapeServerOptions& options, AskPage ask_page) {
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    Status error = Status::Error(std::string("eventfd: ") + strerror(errno));
    close(listen_fd);
    return error;
  }
  std::unique_ptr<ScrapeServer> server(
      new ScrapeServer(listen_fd, wake_fd, std::move(write_metrics),
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
    for (int i = 0; i < std::max(options.workers, 1); ++i) {
      server->workers_.emplace_back([s = server.get()] { s->Work(); });
    }
  } catch (const std::system_error& e) {
    // The destructor stops the workers already started.
    return Status::Error(std::string("cannot start a thread: ") + e.what());
  }
  return server;
}

ScrapeServer::ScrapeServer(int listen_fd, int wake_fd,
                           WriteMetrics write_metrics, AskPage ask_page,
                           const ScrapeServerOptions& options)
    : listen_fd_(listen_fd),
      wake_fd_(wake_fd),
      write_metrics_(std::move(write_metrics)),
      ask_page_(std::move(ask_page)),
      options_(options) {}

ScrapeServer::~ScrapeServer() {
  uint64_t one = 1;
  // Cannot fail: the counter is far from overflowing.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
  for (std::thread& worker : workers_) worker.join();
  close(listen_fd_);
  close(wake_fd_);
}

void ScrapeServer::Work() {
  // Below the event loop: rendering a large scrape (22 MiB at 10,000 checks)
  // takes tens of ms of CPU, which on a busy small host would otherwise be
  // taken from the loop and make probes start late. On Linux the nice value
  // is per thread, so this lowers only the worker.
  [[maybe_unused]] int nice_value = nice(kWorkerNice);
  // Out of descriptors or memory: give them time to be freed rather than
  // spin, still waking at once on stop.
  auto pause = [this] {
    pollfd wake = {wake_fd_, POLLIN, 0};
    poll(&wake, 1, 100);
  };
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno != EINTR) pause();
      continue;
    }
    if (fds[1].revents != 0) return;
    int fd =
        accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // EAGAIN: another worker took the connection.
      if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) pause();
      continue;
    }
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    Serve(fd);
  }
}

void ScrapeServer::Serve(int fd) {
  Connection connection(fd, wake_fd_);
  std::array<char, kMaxRequest> buffer;
  std::string_view line;
  switch (connection.ReadRequest(buffer, options_.request_timeout, &line)) {
    case Connection::ReadResult::kFailed:
      return;
    case Connection::ReadResult::kTooLarge:
      connection.Send(
          PlainResponse("431 Request Header Fields Too Large", false),
          options_.send_timeout);
      connection.Linger();
      return;
    case Connection::ReadResult::kOk:
      break;
  }

  // "METHOD TARGET HTTP/1.x"
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  std::string_view method = line.substr(0, first);
  std::string_view target =
      first < last ? line.substr(first + 1, last - first - 1) : "";
  std::string_view path = target.substr(0, target.find('?'));
  bool head = method == "HEAD";
  std::string response;
  if (first == std::string_view::npos || first == last ||
      !line.substr(last + 1).starts_with("HTTP/1.")) {
    response = PlainResponse("400 Bad Request", false);
  } else if (path != "/metrics" && path != "/") {
    response = PlainResponse("404 Not Found", head);
  } else if (method != "GET" && !head) {
    response =
        PlainResponse("405 Method Not Allowed", false, "Allow: GET, HEAD\r\n");
  } else if (path == "/") {
    response = ask_page_ ? PageResponse(head)
                         : Response("200 OK", "text/html; charset=utf-8",
                                    kIndexPage, head);
  }
  if (!response.empty()) {
    if (connection.Send(response, options_.send_timeout)) connection.Linger();
    return;
  }

  if (!connection.Send(kMetricsHead, options_.send_timeout)) return;
  if (!head) {
    TextWriter writer([&](std::string_view text) {
      return connection.Send(text, options_.send_timeout);
    });
    write_metrics_(writer);
    if (!writer.Flush()) return;
  }
  connection.Linger();
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
  if (!WaitReady(fd, POLLIN, wake_fd_, Clock::now() + options_.page_timeout)) {
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
