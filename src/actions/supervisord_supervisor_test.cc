#include "actions/supervisord_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "core/event_loop.h"
#include "net/curl_multi.h"
#include "tests/support/net.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

::testing::AssertionResult Contains(const std::string& text,
                                    const std::string& part) {
  if (text.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "'" << text << "' does not contain '" << part << "'";
}

bool UnixSocketAccepts(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string Cmdline(pid_t pid) {
  std::string text =
      testing::ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : text) {
    if (c == '\0') c = ' ';
  }
  return text;
}

bool IsApp(pid_t pid) {
  return pid > 0 && Cmdline(pid).find("supervised_app.py") != std::string::npos;
}

class SupervisordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    auto curl = CurlMulti::Create(&loop_);
    ASSERT_TRUE(curl.ok()) << curl.status().message();
    curl_ = std::move(*curl);
  }

  void TearDown() override {
    supervisord_.Stop();
    fake_.Stop();
    // supervisord stops its programs when it exits; should it not have,
    // the last app must not outlive the test.
    std::string pid = testing::ReadFile(dir_.File("app.pid"));
    if (!pid.empty() && IsApp(std::stoi(pid))) kill(std::stoi(pid), SIGKILL);
  }

  template <typename Cond>
  bool RunUntil(Cond cond, Duration limit = seconds(60)) {
    TimePoint deadline = loop_.Now() + limit;
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  // Starts a real supervisord (in the foreground) serving its unix socket,
  // plus `inet` (an [inet_http_server] section) when given, with the
  // programs app (running), broken (exits at once) and missing (no such
  // command).
  void StartSupervisord(const std::string& inet = "") {
    std::string d = dir_.path();
    std::ostringstream conf;
    conf << "[unix_http_server]\nfile=" << socket_ << "\n\n"
         << inet << "\n"
         << "[supervisord]\nnodaemon=true\nlogfile=" << d
         << "/supervisord.log\npidfile=" << d << "/supervisord.pid\n"
         << "childlogdir=" << d << "\nloglevel=info\n\n"
         << "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = "
            "supervisor.rpcinterface:make_main_rpcinterface\n\n"
         << "[supervisorctl]\nserverurl=unix://" << socket_ << "\n\n"
         << "[program:app]\ncommand=/usr/bin/python3 "
         << testing::SourcePath("tests/servers/supervised_app.py")
         << " --pid-file " << d << "/app.pid\n"
         << "autostart=true\nstartsecs=1\nstartretries=0\nstopwaitsecs=5\n"
         << "stdout_logfile=" << d << "/app.log\nredirect_stderr=true\n\n"
         << "[program:broken]\ncommand=/bin/false\nautostart=false\n"
         << "startsecs=1\nstartretries=0\n\n"
         << "[program:missing]\ncommand=/nonexistent/app\nautostart=false\n";
    conf_ = dir_.File("supervisord.conf");
    ASSERT_TRUE(testing::WriteFile(conf_, conf.str()));
    ASSERT_TRUE(supervisord_.Start({"/usr/bin/supervisord", "-n", "-c", conf_},
                                   dir_.File("supervisord.out")));
    ASSERT_TRUE(testing::WaitFor([&] { return UnixSocketAccepts(socket_); },
                                 milliseconds(30000)))
        << testing::ReadFile(dir_.File("supervisord.out"));
    supervisor_ = Make(unix_url_);
    ASSERT_NE(supervisor_, nullptr);
    ASSERT_TRUE(WaitForState("app", "RUNNING"));
  }

  // An [inet_http_server] section on a free port (in port_).
  std::string Inet(const std::string& credentials = "") {
    port_ = testing::FreePort();
    return "[inet_http_server]\nport=127.0.0.1:" + std::to_string(port_) +
           "\n" + credentials + "\n";
  }

  std::unique_ptr<Supervisor> Make(const std::string& url,
                                   Duration timeout = seconds(60)) {
    SupervisorConfig config;
    config.name = "main";
    config.type = SupervisorType::kSupervisord;
    config.url = url;
    config.timeout = timeout;
    auto supervisor = MakeSupervisor(config, &loop_, curl_.get());
    EXPECT_TRUE(supervisor.ok()) << supervisor.status().message();
    return supervisor.ok() ? std::move(*supervisor) : nullptr;
  }

  Status Restart(Supervisor* supervisor, const std::string& program) {
    return Act(supervisor, program, false);
  }

  Status Start(Supervisor* supervisor, const std::string& program) {
    return Act(supervisor, program, true);
  }

  Status Act(Supervisor* supervisor, const std::string& program, bool start) {
    std::optional<Status> result;
    auto done = [&](Status s) { result = s; };
    ProgramRef ref{program, program, 0};
    auto call =
        start ? supervisor->Start(ref, done) : supervisor->Restart(ref, done);
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }, seconds(90)));
    return result.value_or(Status::Error("no result"));
  }

  Status Recover(Supervisor* supervisor, const std::string& program) {
    std::optional<Status> result;
    auto call = supervisor->Recover({program, program, 0},
                                    [&](Status s) { result = s; });
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }, seconds(90)));
    return result.value_or(Status::Error("no result"));
  }

  Result<ProgramStatus> GetStatus(Supervisor* supervisor,
                                  const std::string& program) {
    std::optional<Result<ProgramStatus>> result;
    auto call = supervisor->GetStatus(
        {program, program, 0},
        [&](Result<ProgramStatus> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "callback ran inside the call";
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }, seconds(90)));
    if (!result) return Status::Error("no result");
    return std::move(*result);
  }

  ::testing::AssertionResult WaitForState(const std::string& program,
                                          const std::string& state) {
    TimePoint deadline = loop_.Now() + seconds(60);
    std::string last;
    while (loop_.Now() < deadline) {
      Result<ProgramStatus> status = GetStatus(supervisor_.get(), program);
      last = status.ok() ? status->state : status.status().message();
      if (last == state) return ::testing::AssertionSuccess();
      loop_.RunOnce(milliseconds(100));
    }
    return ::testing::AssertionFailure()
           << program << " is " << last << ", not " << state << "; "
           << testing::ReadFile(dir_.File("supervisord.log"));
  }

  // supervisorctl, the operator's way, to put a program in a state.
  void Supervisorctl(const std::string& verb, const std::string& program) {
    testing::Subprocess ctl;
    ASSERT_TRUE(
        ctl.Start({"/usr/bin/supervisorctl", "-c", conf_, verb, program},
                  dir_.File("supervisorctl.out")));
    ASSERT_TRUE(ctl.Wait(milliseconds(60000)).has_value());
  }

  // A misbehaving endpoint on a unix socket (see fake_supervisord.py).
  std::string StartFake(const std::string& mode) {
    std::string path = dir_.File("fake.sock");
    std::string ready = dir_.File("fake.ready");
    EXPECT_TRUE(fake_.Start(
        {"python3", testing::SourcePath("tests/servers/fake_supervisord.py"),
         "--unix", path, "--mode", mode, "--ready-file", ready, "--events",
         events_, "--calls", calls_},
        dir_.File("fake.out")));
    EXPECT_TRUE(testing::WaitFor(
        [&] { return access(ready.c_str(), F_OK) == 0; }, milliseconds(30000)));
    return "unix://" + path;
  }

  std::string FakeReason(const std::string& mode,
                         Duration timeout = seconds(60)) {
    auto supervisor = Make(StartFake(mode), timeout);
    if (supervisor == nullptr) return "";
    Status status = Restart(supervisor.get(), "app");
    EXPECT_FALSE(status.ok());
    return status.message();
  }

  // A GetStatusReply of `program` whose answer lands in replies_[tag].
  std::unique_ptr<SupervisorCall> Ask(Supervisor* supervisor,
                                      const std::string& program,
                                      const std::string& tag) {
    return supervisor->GetStatusReply(
        {program, program, 0},
        [this, tag](StatusReply reply) { replies_.emplace(tag, reply); });
  }

  std::string ErrorOf(const std::string& tag) {
    auto it = replies_.find(tag);
    if (it == replies_.end()) return "no answer";
    return it->second.status.ok() ? "ok" : it->second.status.status().message();
  }

  pid_t PidOf(const std::string& tag) {
    auto it = replies_.find(tag);
    if (it == replies_.end() || !it->second.status.ok()) return -1;
    return it->second.status->pid;
  }

  EventLoop loop_;
  std::unique_ptr<CurlMulti> curl_;
  testing::TempDir dir_;
  std::string socket_ = dir_.File("supervisor.sock");
  std::string unix_url_ = "unix://" + socket_;
  std::string conf_;
  std::string events_ = dir_.File("fake.events");
  std::string calls_ = dir_.File("fake.calls");
  int port_ = 0;
  testing::Subprocess supervisord_;
  testing::Subprocess fake_;
  std::unique_ptr<Supervisor> supervisor_;  // on unix_url_
  std::map<std::string, StatusReply> replies_;
};

TEST_F(SupervisordTest, GetStatusGivesTheRealPid) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  EXPECT_TRUE(supervisor_->reports_pid());
  Result<ProgramStatus> status = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->state, "RUNNING");
  EXPECT_TRUE(IsApp(status->pid)) << Cmdline(status->pid);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return !testing::ReadFile(dir_.File("app.pid")).empty(); },
      milliseconds(30000)));
  EXPECT_EQ(std::stoi(testing::ReadFile(dir_.File("app.pid"))), status->pid);
}

TEST_F(SupervisordTest, RestartGivesANewProcess) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  Result<ProgramStatus> before = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(before.ok()) << before.status().message();
  Status status = Restart(supervisor_.get(), "app");
  ASSERT_TRUE(status.ok()) << status.message();
  // stopProcess and startProcess waited: it is running again already.
  Result<ProgramStatus> after = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_EQ(after->state, "RUNNING");
  EXPECT_NE(after->pid, before->pid);
  EXPECT_TRUE(IsApp(after->pid)) << Cmdline(after->pid);
  EXPECT_FALSE(IsApp(before->pid));
}

TEST_F(SupervisordTest, StartOfAStoppedProgram) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  ASSERT_NO_FATAL_FAILURE(Supervisorctl("stop", "app"));
  Result<ProgramStatus> stopped = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(stopped.ok()) << stopped.status().message();
  EXPECT_EQ(stopped->state, "STOPPED");
  EXPECT_EQ(stopped->pid, 0);
  Status status = Start(supervisor_.get(), "app");
  ASSERT_TRUE(status.ok()) << status.message();
  Result<ProgramStatus> running = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(running.ok()) << running.status().message();
  EXPECT_EQ(running->state, "RUNNING");
  EXPECT_TRUE(IsApp(running->pid));
}

TEST_F(SupervisordTest, StartOfARunningProgramIsFine) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  Result<ProgramStatus> before = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(before.ok());
  Status status = Start(supervisor_.get(), "app");
  ASSERT_TRUE(status.ok()) << status.message();
  Result<ProgramStatus> after = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->pid, before->pid);
}

TEST_F(SupervisordTest, RestartOfAStoppedProgramStartsIt) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  ASSERT_NO_FATAL_FAILURE(Supervisorctl("stop", "app"));
  Status status = Restart(supervisor_.get(), "app");
  ASSERT_TRUE(status.ok()) << status.message();
  Result<ProgramStatus> after = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, "RUNNING");
  EXPECT_TRUE(IsApp(after->pid));
}

TEST_F(SupervisordTest, UnknownProgram) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  EXPECT_EQ(Restart(supervisor_.get(), "nosuch").message(),
            "supervisord has no program 'nosuch'");
  Result<ProgramStatus> status = GetStatus(supervisor_.get(), "nosuch");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(), "supervisord has no program 'nosuch'");
  // Asked in one batch with a program it has: each gets its own answer.
  auto app = Ask(supervisor_.get(), "app", "app");
  auto nosuch = Ask(supervisor_.get(), "nosuch", "nosuch");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 2; }));
  EXPECT_TRUE(IsApp(PidOf("app"))) << ErrorOf("app");
  EXPECT_FALSE(replies_.at("app").unknown_program);
  EXPECT_EQ(ErrorOf("nosuch"), "supervisord has no program 'nosuch'");
  EXPECT_TRUE(replies_.at("nosuch").unknown_program);
}

TEST_F(SupervisordTest, ProgramThatFailsToSpawn) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  std::string reason = Start(supervisor_.get(), "broken").message();
  // supervisord's spawnerr when it still has it, else the fault string
  // (supervisord may already be retrying, which clears spawnerr).
  EXPECT_TRUE(reason ==
                  "supervisord could not spawn 'broken': Exited too quickly "
                  "(process log may have details)" ||
              reason ==
                  "supervisord could not spawn 'broken': SPAWN_ERROR: "
                  "broken")
      << reason;
}

// startretries=0: one quick exit and supervisord gives the program up.
TEST_F(SupervisordTest, FatalIsGivingUpAndRecoverStartsItAgain) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  EXPECT_FALSE(Start(supervisor_.get(), "broken").ok());
  ASSERT_TRUE(WaitForState("broken", "FATAL"));
  Result<ProgramStatus> status = GetStatus(supervisor_.get(), "broken");
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->pid, 0);
  EXPECT_EQ(status->hold, ProgramHold::kGaveUp);
  EXPECT_EQ(status->hold_reason,
            "FATAL (Exited too quickly (process log may have details))");
  // Taken up again without waiting out startsecs: ok, though it fails
  // again at once and is given up again.
  const size_t spawned =
      testing::ReadFile(dir_.File("supervisord.log")).find("spawned: 'broken'");
  Status recovered = Recover(supervisor_.get(), "broken");
  EXPECT_TRUE(recovered.ok()) << recovered.message();
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        const std::string log = testing::ReadFile(dir_.File("supervisord.log"));
        return log.find("spawned: 'broken'", spawned + 1) != std::string::npos;
      },
      milliseconds(30000)))
      << testing::ReadFile(dir_.File("supervisord.log"));
  EXPECT_TRUE(WaitForState("broken", "FATAL"));
  // A running program needs no recovery, and is left as it is.
  Result<ProgramStatus> before = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->hold, ProgramHold::kNone);
  EXPECT_TRUE(Recover(supervisor_.get(), "app").ok());
  Result<ProgramStatus> after = GetStatus(supervisor_.get(), "app");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->pid, before->pid);
}

TEST_F(SupervisordTest, RecoverOfAProgramWithoutItsCommandFails) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  EXPECT_TRUE(Contains(Recover(supervisor_.get(), "missing").message(),
                       "supervisord cannot find the command of 'missing': "));
  EXPECT_EQ(Recover(supervisor_.get(), "nosuch").message(),
            "supervisord has no program 'nosuch'");
}

TEST_F(SupervisordTest, FatalAndBackoffRepliesAreHolds) {
  auto supervisor = Make(StartFake(
      "info:web=0:FATAL,db=0:BACKOFF,bare=0:FATAL:,idle=0,done=0:EXITED"));
  ASSERT_NE(supervisor, nullptr);
  auto web = Ask(supervisor.get(), "web", "web");
  auto db = Ask(supervisor.get(), "db", "db");
  auto bare = Ask(supervisor.get(), "bare", "bare");
  auto idle = Ask(supervisor.get(), "idle", "idle");
  auto done = Ask(supervisor.get(), "done", "done");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 5; }));
  for (const char* tag : {"web", "db", "bare", "idle", "done"}) {
    ASSERT_TRUE(replies_.at(tag).status.ok()) << tag << ": " << ErrorOf(tag);
    EXPECT_EQ(PidOf(tag), 0) << tag;
  }
  const ProgramStatus& web_status = *replies_.at("web").status;
  EXPECT_EQ(web_status.state, "FATAL");
  EXPECT_EQ(web_status.hold, ProgramHold::kGaveUp);
  EXPECT_EQ(web_status.hold_reason,
            "FATAL (Exited too quickly (process log may have details))");
  const ProgramStatus& db_status = *replies_.at("db").status;
  EXPECT_EQ(db_status.hold, ProgramHold::kBackingOff);
  EXPECT_EQ(db_status.hold_reason,
            "BACKOFF (Exited too quickly (process log may have details))");
  // Without a description, the spawn error says why.
  EXPECT_EQ(replies_.at("bare").status->hold_reason,
            "FATAL (Exited too quickly (process log may have details))");
  EXPECT_EQ(replies_.at("idle").status->hold, ProgramHold::kNone);
  EXPECT_EQ(replies_.at("done").status->hold, ProgramHold::kNone);
  EXPECT_EQ(replies_.at("done").status->state, "EXITED");
}

TEST_F(SupervisordTest, RecoverIsStartProcessWithoutWaiting) {
  auto supervisor = Make(StartFake("info:web=0:FATAL"));
  ASSERT_NE(supervisor, nullptr);
  EXPECT_TRUE(Recover(supervisor.get(), "web").ok());
  EXPECT_EQ(testing::ReadFile(calls_), "supervisor.startProcess web False\n");
}

TEST_F(SupervisordTest, ProgramWithoutItsCommand) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  EXPECT_TRUE(Contains(Restart(supervisor_.get(), "missing").message(),
                       "supervisord cannot find the command of 'missing': "));
}

TEST_F(SupervisordTest, HttpUrl) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord(Inet()));
  auto http = Make("http://127.0.0.1:" + std::to_string(port_));
  ASSERT_NE(http, nullptr);
  Result<ProgramStatus> status = GetStatus(http.get(), "app");
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(status->state, "RUNNING");
  EXPECT_TRUE(IsApp(status->pid));
  Status restarted = Restart(http.get(), "app");
  EXPECT_TRUE(restarted.ok()) << restarted.message();
}

TEST_F(SupervisordTest, HttpUrlWithCredentials) {
  ASSERT_NO_FATAL_FAILURE(
      StartSupervisord(Inet("username=watchd\npassword=s3cret\n")));
  std::string where = "127.0.0.1:" + std::to_string(port_);
  auto good = Make("http://watchd:s3cret@" + where + "/");
  ASSERT_NE(good, nullptr);
  Result<ProgramStatus> status = GetStatus(good.get(), "app");
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_TRUE(IsApp(status->pid));

  auto none = Make("http://" + where);
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(Restart(none.get(), "app").message(),
            "supervisord answered HTTP 401");
  auto wrong = Make("http://watchd:wrong@" + where);
  ASSERT_NE(wrong, nullptr);
  EXPECT_EQ(Restart(wrong.get(), "app").message(),
            "supervisord answered HTTP 401");

  // Reasons name the server, never the password.
  supervisord_.Stop();
  std::string down = Restart(good.get(), "app").message();
  EXPECT_EQ(down, "cannot reach supervisord at http://" + where +
                      ": Connection refused");
}

TEST_F(SupervisordTest, MissingSocketFailsAtOnce) {
  std::string url = "unix://" + dir_.File("nosuch.sock");
  auto supervisor = Make(url, seconds(30));
  ASSERT_NE(supervisor, nullptr);
  TimePoint start = loop_.Now();
  EXPECT_EQ(
      Restart(supervisor.get(), "app").message(),
      "cannot reach supervisord at " + url + ": No such file or directory");
  EXPECT_LT(loop_.Now() - start, seconds(10));
}

TEST_F(SupervisordTest, StoppedSupervisordFailsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  supervisord_.Stop();
  TimePoint start = loop_.Now();
  Result<ProgramStatus> status = GetStatus(supervisor_.get(), "app");
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.status().message(),
                       "cannot reach supervisord at " + unix_url_ + ": "));
  EXPECT_LT(loop_.Now() - start, seconds(10));

  auto refused = Make("http://127.0.0.1:" + std::to_string(testing::FreePort()),
                      seconds(30));
  ASSERT_NE(refused, nullptr);
  EXPECT_TRUE(
      Contains(Start(refused.get(), "app").message(), ": Connection refused"));
}

TEST_F(SupervisordTest, ServerThatNeverAnswersTimesOut) {
  TimePoint start = loop_.Now();
  EXPECT_EQ(FakeReason("hang", seconds(1)), "timed out after 1s");
  EXPECT_GE(loop_.Now() - start, milliseconds(990));
  // The transfer was removed: the server sees its client leave.
  EXPECT_TRUE(testing::WaitFor(
      [&] { return testing::ReadFile(events_) == "request\nclosed\n"; },
      milliseconds(30000)))
      << testing::ReadFile(events_);
  EXPECT_EQ(curl_->in_flight(), 0u);
}

TEST_F(SupervisordTest, MalformedReplies) {
  EXPECT_TRUE(
      Contains(FakeReason("garbage"), "supervisord sent a malformed reply: "));
  fake_.Stop();
  unlink(dir_.File("fake.sock").c_str());
  unlink(dir_.File("fake.ready").c_str());
  EXPECT_TRUE(
      Contains(FakeReason("not-http"), "supervisord sent a malformed reply: "));
  fake_.Stop();
  unlink(dir_.File("fake.sock").c_str());
  unlink(dir_.File("fake.ready").c_str());
  EXPECT_EQ(FakeReason("huge"),
            "supervisord sent a malformed reply: more than 1048576 bytes");
}

TEST_F(SupervisordTest, FaultsGetReasons) {
  EXPECT_EQ(FakeReason("fault:6"), "supervisord is shutting down");
  fake_.Stop();
  unlink(dir_.File("fake.sock").c_str());
  unlink(dir_.File("fake.ready").c_str());
  EXPECT_EQ(FakeReason("fault:999"), "supervisord fault 999: FAULT: app");
}

TEST_F(SupervisordTest, DestroyingTheCallCancelsIt) {
  auto supervisor = Make(StartFake("hang"), seconds(1));
  ASSERT_NE(supervisor, nullptr);
  bool called = false;
  auto call =
      supervisor->Restart({"app", "app", 0}, [&](Status) { called = true; });
  ASSERT_TRUE(RunUntil(
      [&] { return testing::ReadFile(events_) == "request\n"; }, seconds(30)));
  call.reset();
  EXPECT_EQ(curl_->in_flight(), 0u);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return testing::ReadFile(events_) == "request\nclosed\n"; },
      milliseconds(30000)));
  // Past the 1s deadline: the timer went with the call.
  TimePoint until = loop_.Now() + milliseconds(1500);
  RunUntil([&] { return loop_.Now() >= until; });
  EXPECT_FALSE(called);
}

TEST_F(SupervisordTest, DestroyingARealRestartCancelsIt) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  bool called = false;
  auto call =
      supervisor_->Restart({"app", "app", 0}, [&](Status) { called = true; });
  loop_.RunOnce(milliseconds(10));
  call.reset();
  EXPECT_EQ(curl_->in_flight(), 0u);
  // supervisord finishes what it was asked alone; the app ends up running
  // (or stopped, had the stop been all it got) and the callback never runs.
  TimePoint until = loop_.Now() + seconds(3);
  RunUntil([&] { return loop_.Now() >= until; });
  EXPECT_FALSE(called);
}

TEST_F(SupervisordTest, SupervisorMayGoBeforeItsCalls) {
  ASSERT_NO_FATAL_FAILURE(StartSupervisord());
  std::optional<Result<ProgramStatus>> result;
  auto call = supervisor_->GetStatus(
      {"app", "app", 0},
      [&](Result<ProgramStatus> r) { result = std::move(r); });
  supervisor_.reset();
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  ASSERT_TRUE(result->ok()) << result->status().message();
  EXPECT_TRUE(IsApp((*result)->pid));
}

TEST_F(SupervisordTest, CallsOfOnePassShareOneRequest) {
  auto supervisor = Make(StartFake("info:web=101,db=102,idle=0"));
  ASSERT_NE(supervisor, nullptr);
  auto web = Ask(supervisor.get(), "web", "web");
  auto db = Ask(supervisor.get(), "db", "db");
  auto again = Ask(supervisor.get(), "web", "again");
  auto idle = Ask(supervisor.get(), "idle", "idle");
  auto nosuch = Ask(supervisor.get(), "nosuch", "nosuch");
  std::optional<Result<ProgramStatus>> plain;
  auto call = supervisor->GetStatus(
      {"db", "db", 0}, [&](Result<ProgramStatus> r) { plain = std::move(r); });
  EXPECT_TRUE(replies_.empty()) << "callback ran inside the call";
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 5 && plain; }));
  EXPECT_EQ(testing::ReadFile(calls_),
            "system.multicall supervisor.getProcessInfo web "
            "supervisor.getProcessInfo db supervisor.getProcessInfo idle "
            "supervisor.getProcessInfo nosuch\n");
  EXPECT_EQ(testing::ReadFile(events_), "request\n");
  EXPECT_EQ(PidOf("web"), 101) << ErrorOf("web");
  EXPECT_EQ(PidOf("again"), 101) << ErrorOf("again");
  EXPECT_EQ(PidOf("db"), 102) << ErrorOf("db");
  EXPECT_EQ(PidOf("idle"), 0) << ErrorOf("idle");
  EXPECT_EQ(replies_.at("idle").status->state, "STOPPED");
  EXPECT_FALSE(replies_.at("web").unknown_program);
  EXPECT_EQ(ErrorOf("nosuch"), "supervisord has no program 'nosuch'");
  EXPECT_TRUE(replies_.at("nosuch").unknown_program);
  ASSERT_TRUE(plain->ok()) << plain->status().message();
  EXPECT_EQ((*plain)->pid, 102);
}

TEST_F(SupervisordTest, ACallFromACallbackJoinsTheNextBatch) {
  auto supervisor = Make(StartFake("info:web=101,db=102"));
  ASSERT_NE(supervisor, nullptr);
  std::unique_ptr<SupervisorCall> again, web;
  web = supervisor->GetStatusReply({"web", "web", 0}, [&](StatusReply reply) {
    replies_.emplace("web", reply);
    web.reset();  // its own call, from inside its callback
    again = Ask(supervisor.get(), "db", "again");
  });
  auto db = Ask(supervisor.get(), "db", "db");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 3; }));
  EXPECT_EQ(testing::ReadFile(calls_),
            "system.multicall supervisor.getProcessInfo web "
            "supervisor.getProcessInfo db\n"
            "system.multicall supervisor.getProcessInfo db\n");
  EXPECT_EQ(PidOf("web"), 101);
  EXPECT_EQ(PidOf("db"), 102);
  EXPECT_EQ(PidOf("again"), 102);
}

TEST_F(SupervisordTest, CancellingOneCallerKeepsTheBatch) {
  auto supervisor = Make(StartFake("hang"), seconds(1));
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a", "a");
  auto b = Ask(supervisor.get(), "b", "b");
  ASSERT_TRUE(RunUntil(
      [&] { return testing::ReadFile(events_) == "request\n"; }, seconds(30)));
  a.reset();
  EXPECT_EQ(curl_->in_flight(), 1u);
  ASSERT_TRUE(RunUntil([&] { return replies_.count("b") == 1; }));
  EXPECT_EQ(ErrorOf("b"), "timed out after 1s");
  EXPECT_EQ(replies_.count("a"), 0u);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return testing::ReadFile(events_) == "request\nclosed\n"; },
      milliseconds(30000)))
      << testing::ReadFile(events_);
}

TEST_F(SupervisordTest, CancellingEveryCallerEndsTheRequest) {
  auto supervisor = Make(StartFake("hang"));
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a", "a");
  auto b = Ask(supervisor.get(), "b", "b");
  ASSERT_TRUE(RunUntil(
      [&] { return testing::ReadFile(events_) == "request\n"; }, seconds(30)));
  b.reset();
  a.reset();
  EXPECT_EQ(curl_->in_flight(), 0u);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return testing::ReadFile(events_) == "request\nclosed\n"; },
      milliseconds(30000)));
  EXPECT_TRUE(replies_.empty());
}

TEST_F(SupervisordTest, AFailedBatchAnswersEveryCaller) {
  auto supervisor = Make(StartFake("hang"), seconds(1));
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a", "a");
  auto b = Ask(supervisor.get(), "b", "b");
  ASSERT_TRUE(RunUntil(
      [&] { return testing::ReadFile(events_) == "request\n"; }, seconds(30)));
  // Queued behind the request in flight: answered by its failure too.
  auto c = Ask(supervisor.get(), "c", "c");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 3; }));
  for (const char* tag : {"a", "b", "c"}) {
    EXPECT_EQ(ErrorOf(tag), "timed out after 1s") << tag;
    EXPECT_FALSE(replies_.at(tag).unknown_program) << tag;
  }
  EXPECT_TRUE(testing::WaitFor(
      [&] { return testing::ReadFile(events_) == "request\nclosed\n"; },
      milliseconds(30000)))
      << testing::ReadFile(events_);
}

TEST_F(SupervisordTest, AMalformedBatchReplyAnswersEveryCaller) {
  auto supervisor = Make(StartFake("garbage"));
  ASSERT_NE(supervisor, nullptr);
  auto a = Ask(supervisor.get(), "a", "a");
  auto b = Ask(supervisor.get(), "b", "b");
  ASSERT_TRUE(RunUntil([&] { return replies_.size() == 2; }));
  EXPECT_TRUE(Contains(ErrorOf("a"), "supervisord sent a malformed reply: "));
  EXPECT_EQ(ErrorOf("b"), ErrorOf("a"));
  EXPECT_EQ(testing::ReadFile(events_), "request\n");
}

TEST_F(SupervisordTest, MakeValidatesTheUrl) {
  SupervisorConfig config;
  config.name = "main";
  config.type = SupervisorType::kSupervisord;
  for (const char* url :
       {"", "unix://", "unix://relative.sock", "ftp://127.0.0.1:21",
        "https://127.0.0.1:9001", "http://", "http://127.0.0.1:9001/RPC2",
        "http://127.0.0.1:9001/?x=1", "http://127.0.0.1:99999"}) {
    config.url = url;
    auto supervisor = MakeSupervisor(config, &loop_, curl_.get());
    ASSERT_FALSE(supervisor.ok()) << url;
    EXPECT_TRUE(Contains(supervisor.status().message(),
                         "supervisor 'main': invalid url"));
  }
  config.url = "unix:///" + std::string(200, 'x');
  EXPECT_TRUE(
      Contains(MakeSupervisor(config, &loop_, curl_.get()).status().message(),
               "socket path longer than 107 bytes"));
  config.url = "http://watchd:secret@127.0.0.1:99999";
  auto bad = MakeSupervisor(config, &loop_, curl_.get());
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(Contains(bad.status().message(), "secret"));
  for (const char* url :
       {"unix:///run/supervisor.sock", "http://127.0.0.1:9001",
        "http://localhost:9001/", "http://u:p@[::1]:9001"}) {
    config.url = url;
    auto supervisor = MakeSupervisor(config, &loop_, curl_.get());
    EXPECT_TRUE(supervisor.ok())
        << url << ": " << supervisor.status().message();
  }
  config.url = "unix:///run/supervisor.sock";
  auto no_curl = MakeSupervisor(config, &loop_, nullptr);
  ASSERT_FALSE(no_curl.ok());
}

}  // namespace
}  // namespace watchd
