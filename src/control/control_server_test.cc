#include "control/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "control/protocol.h"
#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using testing::RunLoopUntil;
using testing::TempDir;

// A raw client: bytes in, lines out, never blocking the test's loop.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { Close(); }
  bool connected() const { return connected_; }
  void Write(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n =
          send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  // Reads what is there; true once the server closed.
  bool Pump() {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n > 0) {
        in_.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof_ = true;
      return eof_;
    }
  }
  bool HasLine() {
    Pump();
    return in_.find('\n') != std::string::npos;
  }
  std::optional<std::string> Line() {
    Pump();
    size_t nl = in_.find('\n');
    if (nl == std::string::npos) return std::nullopt;
    std::string line = in_.substr(0, nl);
    in_.erase(0, nl + 1);
    return line;
  }
  bool eof() {
    Pump();
    return eof_;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string in_;
};

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  // Starts a server whose handler is `handler`.
  void Serve(ControlServer::Handler handler,
             ControlServer::Options options = {}) {
    if (options.path.empty()) options.path = dir_.File("run/control.sock");
    path_ = options.path;
    server_ =
        std::make_unique<ControlServer>(&loop_, options, std::move(handler));
    Status s = server_->Listen();
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // Replies at once with the line it was sent.
  void ServeEcho(ControlServer::Options options = {}) {
    Serve(
        [this](const ControlPeer& peer, const std::string& line,
               ControlServer::Responder r) {
          peers_.push_back(peer);
          r.Send(OkReply({{"echo", line}}));
        },
        options);
  }
  std::optional<std::string> WaitLine(Client& c) {
    RunLoopUntil(
        loop_, [&] { return c.HasLine(); }, std::chrono::seconds(20));
    return c.Line();
  }
  bool WaitEof(Client& c) {
    return RunLoopUntil(
        loop_, [&] { return c.eof(); }, std::chrono::seconds(20));
  }
  static std::string Echo(const std::optional<std::string>& line) {
    if (!line) return "<none>";
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_object() || !j.contains("echo"))
      return "<not echo: " + *line + ">";
    return j["echo"];
  }
  static std::string ErrorMessage(const std::optional<std::string>& line) {
    if (!line) return "<none>";
    auto j = nlohmann::json::parse(*line, nullptr, false);
    if (!j.is_object() || j.value("ok", true))
      return "<not error: " + *line + ">";
    return j["error"]["message"];
  }

  EventLoop loop_;
  TempDir dir_;
  std::string path_;
  std::unique_ptr<ControlServer> server_;
  std::vector<ControlPeer> peers_;
};

TEST_F(ControlServerTest, AnswersLinesInOrderAndKnowsThePeer) {
  ServeEcho();
  Client c(path_);
  ASSERT_TRUE(c.connected());
  c.Write("first\nsecond\r\n\nthi");
  EXPECT_EQ(Echo(WaitLine(c)), "first");
  EXPECT_EQ(Echo(WaitLine(c)), "second");
  c.Write("rd\n");
  EXPECT_EQ(Echo(WaitLine(c)), "third");
  ASSERT_EQ(peers_.size(), 3u);
  EXPECT_EQ(peers_[0].uid, getuid());
  EXPECT_EQ(peers_[0].pid, getpid());
}

TEST_F(ControlServerTest, SocketIs0660InA0750Directory) {
  ServeEcho();
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_EQ(stat(dir_.File("run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

// systemd's RuntimeDirectory= is root:root 0750: the control group could
// not reach the socket in it. A shared directory is left alone.
TEST_F(ControlServerTest, PrivateDirectoryMadeByOthersGetsTheGroup) {
  const gid_t group = getgid() == 65534 ? 65533 : 65534;
  ASSERT_EQ(mkdir(dir_.File("private").c_str(), 0750), 0);
  ASSERT_EQ(chmod(dir_.File("private").c_str(), 0750), 0);
  ASSERT_EQ(mkdir(dir_.File("shared").c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir_.File("shared").c_str(), 0755), 0);
  ControlServer::Options options;
  options.path = dir_.File("private/control.sock");
  options.group = group;
  ServeEcho(options);
  struct stat st;
  ASSERT_EQ(stat(dir_.File("private").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, group);
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  ControlServer::Options shared;
  shared.path = dir_.File("shared/control.sock");
  shared.group = group;
  ControlServer other(
      &loop_, shared,
      [](const ControlPeer&, const std::string&, ControlServer::Responder) {});
  ASSERT_TRUE(other.Listen().ok());
  ASSERT_EQ(stat(dir_.File("shared").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, getgid());
  ASSERT_EQ(stat(dir_.File("shared/control.sock").c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, group);
}

TEST_F(ControlServerTest, LaterAnswersKeepTheOrderOfRequests) {
  std::vector<std::pair<std::string, ControlServer::Responder>> held;
  Serve([&](const ControlPeer&, const std::string& line,
            ControlServer::Responder r) { held.emplace_back(line, r); });
  Client c(path_);
  c.Write("slow\nfast\n");
  ASSERT_TRUE(RunLoopUntil(loop_, [&] { return held.size() == 1; }));
  // The second line waits for the first answer.
  loop_.RunOnce(milliseconds(50));
  EXPECT_EQ(held.size(), 1u);
  held[0].second.Send(OkReply({{"echo", held[0].first}}));
  EXPECT_EQ(Echo(WaitLine(c)), "slow");
  ASSERT_TRUE(RunLoopUntil(loop_, [&] { return held.size() == 2; }));
  held[1].second.Send(OkReply({{"echo", held[1].first}}));
  EXPECT_EQ(Echo(WaitLine(c)), "fast");
  // A responder answers once.
  held[1].second.Send(OkReply({{"echo", "again"}}));
  loop_.RunOnce(milliseconds(50));
  EXPECT_FALSE(c.Line().has_value());
}

TEST_F(ControlServerTest, OversizedRequestIsRefusedAndClosed) {
  ControlServer::Options o;
  o.max_request_bytes = 1024;
  ServeEcho(o);
  Client c(path_);
  c.Write(std::string(5000, 'x'));
  EXPECT_EQ(ErrorMessage(WaitLine(c)), "request longer than 1024 bytes");
  EXPECT_TRUE(WaitEof(c));
  // The same with a newline far beyond the limit.
  Client d(path_);
  d.Write(std::string(3000, 'y') + "\n");
  EXPECT_EQ(ErrorMessage(WaitLine(d)), "request longer than 1024 bytes");
  EXPECT_TRUE(WaitEof(d));
  EXPECT_TRUE(peers_.empty()) << "nothing reached the handler";
  EXPECT_TRUE(RunLoopUntil(loop_, [&] { return server_->clients() == 0; }));
}

TEST_F(ControlServerTest, SilentOrHalfSentRequestTimesOut) {
  ControlServer::Options o;
  o.idle_timeout = milliseconds(200);
  ServeEcho(o);
  Client silent(path_);
  Client half(path_);
  half.Write("{\"v\":1,\"cmd\":");
  EXPECT_EQ(ErrorMessage(WaitLine(silent)), "no complete request within 200ms");
  EXPECT_EQ(ErrorMessage(WaitLine(half)), "no complete request within 200ms");
  EXPECT_TRUE(WaitEof(silent));
  EXPECT_TRUE(WaitEof(half));
  EXPECT_TRUE(peers_.empty());
}

TEST_F(ControlServerTest, RequestCutShortByShutdownIsAnsweredWithAnError) {
  ServeEcho();
  Client c(path_);
  c.Write("whole\npart");
  c.ShutdownWrite();
  EXPECT_EQ(Echo(WaitLine(c)), "whole");
  EXPECT_EQ(ErrorMessage(WaitLine(c)), "request not ended by a newline");
  EXPECT_TRUE(WaitEof(c));
}

TEST_F(ControlServerTest, ClientThatLeavesBeforeItsAnswerIsForgotten) {
  std::vector<ControlServer::Responder> held;
  Serve([&](const ControlPeer&, const std::string&,
            ControlServer::Responder r) { held.push_back(r); });
  {
    Client c(path_);
    c.Write("wait for me\n");
    ASSERT_TRUE(RunLoopUntil(loop_, [&] { return held.size() == 1; }));
  }
  // Its hang-up is noticed while the answer is pending, without spinning.
  EXPECT_TRUE(RunLoopUntil(loop_, [&] { return server_->clients() == 0; }))
      << server_->clients();
  EXPECT_FALSE(held[0].connected());
  held[0].Send(OkReply());  // harmless
  server_.reset();
  held[0].Send(OkReply());  // harmless, with the server gone too
}

TEST_F(ControlServerTest, RequestsSentJustBeforeHangingUpAreCarriedOut) {
  ServeEcho();
  {
    Client c(path_);
    c.Write("pause web\nresume web\npartial");
  }
  EXPECT_TRUE(RunLoopUntil(loop_, [&] { return peers_.size() == 2; }));
  EXPECT_TRUE(RunLoopUntil(loop_, [&] { return server_->clients() == 0; }));
}

TEST_F(ControlServerTest, ClientsBeyondTheLimitAreTurnedAway) {
  ControlServer::Options o;
  o.max_clients = 8;
  std::vector<ControlServer::Responder> held;
  Serve(
      [&](const ControlPeer&, const std::string& line,
          ControlServer::Responder r) {
        r.Send(OkReply({{"echo", line}}));
      },
      o);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(path_));
  }
  ASSERT_TRUE(RunLoopUntil(loop_, [&] { return server_->clients() == 8; }));
  Client extra(path_);
  EXPECT_EQ(ErrorMessage(WaitLine(extra)), "too many clients");
  EXPECT_TRUE(WaitEof(extra));
  for (auto& c : clients) c->Write("hello\n");
  for (auto& c : clients) EXPECT_EQ(Echo(WaitLine(*c)), "hello");
}

// However many clients wait, one request is served per pass of the loop,
// so timers due meanwhile (the probes) run between two requests.
TEST_F(ControlServerTest, OneRequestPerPassOfTheLoop) {
  int served = 0;
  Serve([&](const ControlPeer&, const std::string& line,
            ControlServer::Responder r) {
    ++served;
    r.Send(OkReply({{"echo", line}}));
  });
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<Client>(path_));
    clients.back()->Write("a\nb\n");
  }
  // A timer due at every pass, as probes are under load: it sees the
  // count of served requests grow by at most one between two of its runs.
  std::vector<int> seen;
  Timer probe;
  probe.set_callback([&] {
    seen.push_back(served);
    loop_.ScheduleAfter(&probe, Duration::zero());
  });
  loop_.ScheduleAfter(&probe, Duration::zero());
  ASSERT_TRUE(RunLoopUntil(loop_, [&] { return served == 40; }));
  loop_.Cancel(&probe);
  ASSERT_GE(seen.size(), 20u);
  for (size_t i = 1; i < seen.size(); ++i) {
    EXPECT_LE(seen[i] - seen[i - 1], 1) << "at run " << i;
  }
  for (auto& c : clients) {
    EXPECT_EQ(Echo(WaitLine(*c)), "a");
    EXPECT_EQ(Echo(WaitLine(*c)), "b");
  }
}

TEST_F(ControlServerTest, ManyClientsAtOnceAreAllAnswered) {
  ServeEcho();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(std::make_unique<Client>(path_));
    clients.back()->Write("c" + std::to_string(i) + "\n");
  }
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(Echo(WaitLine(*clients[i])), "c" + std::to_string(i));
  }
}

TEST_F(ControlServerTest, ReaderThatStopsReadingIsClosed) {
  ControlServer::Options o;
  o.idle_timeout = milliseconds(300);
  Serve(
      [](const ControlPeer&, const std::string&, ControlServer::Responder r) {
        r.Send(OkReply({{"blob", std::string(8 << 20, 'z')}}));
      },
      o);
  Client c(path_);
  c.Write("big\n");
  // The client reads nothing: the server gives up on it, and stays up.
  EXPECT_TRUE(RunLoopUntil(loop_, [&] { return server_->clients() == 0; }));
  Client next(path_);
  next.Write("hi\n");
  EXPECT_TRUE(WaitLine(next).has_value());
}

TEST_F(ControlServerTest, StaleSocketIsReplacedLiveOneIsRefused) {
  const std::string path = dir_.File("control.sock");
  {
    // A socket file whose listener died (watchd killed with -9).
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    close(fd);
  }
  ControlServer::Options o;
  o.path = path;
  ServeEcho(o);
  Client c(path);
  c.Write("up\n");
  EXPECT_EQ(Echo(WaitLine(c)), "up");

  ControlServer second(&loop_, o, nullptr);
  Status s = second.Listen();
  EXPECT_EQ(s.message(), "another watchd is listening on " + path);
  // The first one still serves.
  Client d(path);
  d.Write("still\n");
  EXPECT_EQ(Echo(WaitLine(d)), "still");
}

TEST_F(ControlServerTest, PathThatIsNotASocketIsAnError) {
  for (const char* kind : {"file", "fifo", "dir"}) {
    SCOPED_TRACE(kind);
    const std::string path = dir_.File(std::string("x-") + kind);
    if (std::string(kind) == "file") {
      ASSERT_TRUE(testing::WriteFile(path, "precious"));
    } else if (std::string(kind) == "fifo") {
      ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
    } else {
      ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
    }
    ControlServer::Options o;
    o.path = path;
    ControlServer server(&loop_, o, nullptr);
    Status s = server.Listen();
    EXPECT_EQ(s.message(), path +
                               " exists and is not a socket: remove it or set "
                               "daemon.control_socket to another path");
  }
  EXPECT_EQ(testing::ReadFile(dir_.File("x-file")), "precious");
}

TEST_F(ControlServerTest, SocketFileIsRemovedOnExit) {
  ServeEcho();
  server_.reset();
  struct stat st;
  EXPECT_NE(lstat(path_.c_str(), &st), 0);
}

}  // namespace
}  // namespace watchd
