// ScrapeServer: the HTTP server of /metrics and of the status page at /
// (GET and HEAD), on threads of its own: never the event loop's, which must
// not stall while 10,000 checks are written out. A connection carries one
// request (Connection: close); the exposition is streamed to the client as
// it is written, through a fixed buffer, so a scrape's memory does not
// grow with the number of series.
//
// One thread accepts connections, reads their requests, answers the small
// responses and drains connections after their response, all without
// blocking; only a complete request for /metrics or / takes a worker. So a
// client that sends its request slowly, or never, holds no worker, and one
// that does not read its response holds one only while nobody waits.
#ifndef WATCHD_METRICS_SCRAPE_SERVER_H_
#define WATCHD_METRICS_SCRAPE_SERVER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
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
  // Responses written at once; more complete requests wait for a worker.
  int workers = 4;
  // Connections held at once, whatever their stage; past it one still
  // sending its request (or being drained) is dropped, the oldest, once
  // it has been read.
  int max_connections = 256;
  // A client that has not sent its request headers by then is dropped...
  std::chrono::milliseconds request_timeout{10000};
  // ...and so is one that takes nothing of its response for this long,
  // or less than 16 KiB in 250 ms while another request waits for a
  // worker...
  std::chrono::milliseconds send_timeout{10000};
  // ...or has not taken the whole response by then.
  std::chrono::milliseconds response_timeout{60000};
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
  // A complete request for /metrics or /, waiting for a worker.
  struct Job {
    int fd;
    bool page;  // "/" (else /metrics)
    bool head;
  };
  // A connection a worker is done with: drained, or closed at once.
  struct Done {
    int fd;
    bool linger;
  };
  class Acceptor;
  class Sender;

  ScrapeServer(int listen_fd, int wake_fd, int done_fd,
               WriteMetrics write_metrics, AskPage ask_page,
               const ScrapeServerOptions& options);
  // A worker: writes the responses of queued jobs until the server stops.
  void Work();
  // True when the whole response went out.
  bool Serve(const Job& job);
  // The whole response for /: a 503 when the page does not come in time
  // or the server stops meanwhile.
  std::string PageResponse(bool head);
  // Called by the acceptor; each job ends in exactly one Done.
  void Enqueue(Job job);
  // Sets waiting_; called with mutex_ held.
  void CountWaiting();
  void HandBack(Done done);
  std::vector<Done> TakeDone();

  const int listen_fd_;
  // An eventfd, readable once the server stops: every wait polls it too.
  const int wake_fd_;
  // An eventfd that wakes the acceptor when a worker hands back a
  // connection.
  const int done_fd_;
  const WriteMetrics write_metrics_;
  const AskPage ask_page_;
  const ScrapeServerOptions options_;
  int port_ = 0;

  std::mutex mutex_;
  std::condition_variable job_ready_;
  bool stopping_ = false;   // guarded by mutex_
  std::deque<Job> jobs_;    // guarded by mutex_
  std::vector<Done> done_;  // guarded by mutex_
  size_t idle_ = 0;         // workers waiting for a job; guarded by mutex_
  // Jobs no idle worker will take, read by workers whose client is slow.
  std::atomic<size_t> waiting_{0};

  std::thread acceptor_;
  std::vector<std::thread> workers_;
};

}  // namespace watchd

#endif  // WATCHD_METRICS_SCRAPE_SERVER_H_
