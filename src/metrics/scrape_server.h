// ScrapeServer: the HTTP server of /metrics and of the status page at /
// (GET and HEAD), on threads of its own: never the event loop's, which must
// not stall while 10,000 checks are written out. A connection carries one
// request (Connection: close); the exposition is streamed to the client as
// it is written, through a fixed buffer, so a scrape's memory does not
// grow with the number of series.
#ifndef WATCHD_METRICS_SCRAPE_SERVER_H_
#define WATCHD_METRICS_SCRAPE_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace watchd {

class TextWriter;

// The answer to one request for the page at /. The owner gives it once,
// from any thread; copies share one answer, and an answer that comes after
// the server stopped waiting for it is dropped.
class PageReply {
 public:
  // `render` returns the page's HTML and runs on the server's thread: the
  // thread that answers (the event loop) only gathers what the page shows.
  void Send(std::function<std::string()> render) const;

 private:
  friend class ScrapeServer;
  struct State;
  explicit PageReply(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

struct ScrapeServerOptions {
  // Connections served at once; more wait in the listen backlog.
  int workers = 4;
  // A client that has not sent its request headers by then is dropped...
  std::chrono::milliseconds request_timeout{10000};
  // ...and so is one that takes nothing of its response for this long.
  std::chrono::milliseconds send_timeout{10000};
  // How long a request for / waits for its PageReply; then it is answered
  // 503 (the loop is stalled or stopping).
  std::chrono::milliseconds page_timeout{2000};
};

class ScrapeServer {
 public:
  // Writes the whole exposition. Runs on the server's threads, on several
  // at once when scrapes overlap.
  using WriteMetrics = std::function<void(TextWriter&)>;
  // Asked for the page at / (GET and HEAD), on the server's threads; it
  // must return at once and answer `reply` later (or never) from wherever
  // the page's data lives. Absent: / is a page linking /metrics.
  using AskPage = std::function<void(PageReply reply)>;

  // Serves on `listen_fd`, a non-blocking listening socket, which it owns
  // from here on (closing it on error too).
  static Result<std::unique_ptr<ScrapeServer>> Start(
      int listen_fd, WriteMetrics write_metrics,
      const ScrapeServerOptions& options, AskPage ask_page = nullptr);
  // Stops promptly, even with clients connected, idle or mid-response:
  // wakes and joins every thread, then closes every socket.
  ~ScrapeServer();
  ScrapeServer(const ScrapeServer&) = delete;
  ScrapeServer& operator=(const ScrapeServer&) = delete;

  // The bound TCP port.
  int port() const { return port_; }

 private:
  ScrapeServer(int listen_fd, int wake_fd, WriteMetrics write_metrics,
               AskPage ask_page, const ScrapeServerOptions& options);
  // A worker: accepts and serves one connection at a time until woken.
  void Work();
  void Serve(int fd);
  // The whole response for /: a 503 when the page does not come in time
  // or the server stops meanwhile.
  std::string PageResponse(bool head);

  const int listen_fd_;
  // An eventfd, readable once the server stops: every wait polls it too.
  const int wake_fd_;
  const WriteMetrics write_metrics_;
  const AskPage ask_page_;
  const ScrapeServerOptions options_;
  int port_ = 0;
  std::vector<std::thread> workers_;
};

}  // namespace watchd

#endif  // WATCHD_METRICS_SCRAPE_SERVER_H_
