#include "health/service.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "actions/supervisor.h"
#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "core/random.h"
#include "health/pidfile_reader.h"
#include "os/kill.h"
#include "os/process_table.h"
#include "probes/memory_probe.h"
#include "probes/process_probe.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A probe whose every run answers with the outcome the test sets.
class SwitchProbe : public Probe {
 public:
  explicit SwitchProbe(ProbeOutcome* outcome) : outcome_(outcome) {}
  void Start(Duration, DoneCallback done) override {
    done(ProbeResult(*outcome_, ProbeOutcomeName(*outcome_)));
  }
  void Cancel() override {}

 private:
  ProbeOutcome* outcome_;
};

// Records calls; the test answers them (later, as real adapters do).
class FakeSupervisor : public Supervisor {
 public:
  struct Call : SupervisorCall {
    explicit Call(FakeSupervisor* s) : owner(s) {}
    ~Call() override { owner->live_calls--; }
    FakeSupervisor* owner;
  };

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef& p,
                                          Done done) override {
    restarts.push_back(p);
    pending.push_back(std::move(done));
    return Track();
  }
  std::unique_ptr<SupervisorCall> Start(const ProgramRef& p,
                                        Done done) override {
    starts.push_back(p);
    pending.push_back(std::move(done));
    return Track();
  }
  std::unique_ptr<SupervisorCall> Recover(const ProgramRef& p,
                                          Done done) override {
    recovers.push_back(p);
    pending.push_back(std::move(done));
    return Track();
  }
  std::unique_ptr<SupervisorCall> GetStatusReply(
      const ProgramRef&, StatusReplyDone done) override {
    status_queue.push_back(std::move(done));
    return Track();
  }
  bool reports_pid() const override { return true; }

  // Answers every status call with the current pid (and, without one, the
  // hold), or status_error; none while `hang`.
  void AnswerStatus() {
    while (!hang && !status_queue.empty()) {
      auto cb = std::move(status_queue.front());
      status_queue.pop_front();
      if (status_error.empty()) {
        ProgramStatus status{pid, pid > 0 ? "RUNNING" : "STOPPED"};
        if (pid == 0 && hold != ProgramHold::kNone) {
          status.state = hold == ProgramHold::kGaveUp ? "FATAL" : "BACKOFF";
          status.hold = hold;
          status.hold_reason = status.state + " (Exited too quickly)";
        }
        cb(StatusReply{status});
      } else {
        cb(StatusReply{Status::Error(status_error)});
      }
    }
  }
  void Finish(Status s = Status::Ok()) {
    ASSERT_FALSE(pending.empty());
    auto cb = std::move(pending.front());
    pending.pop_front();
    cb(s);
  }

  pid_t pid = 0;
  ProgramHold hold = ProgramHold::kNone;
  std::string status_error;
  bool hang = false;
  std::vector<ProgramRef> restarts, starts, recovers;
  std::deque<Done> pending;
  std::deque<StatusReplyDone> status_queue;
  int live_calls = 0;

 private:
  std::unique_ptr<SupervisorCall> Track() {
    ++live_calls;
    return std::make_unique<Call>(this);
  }
};

struct Events : ServiceObserver {
  void OnServiceStateChange(const Service&, ServiceState, ServiceState to,
                            const std::string&) override {
    states.push_back(to);
  }
  void OnRestart(const Service&, const std::string& reason,
                 const std::string&) override {
    restart_reasons.push_back(reason);
  }
  void OnRestartDone(const Service&, const Status& s) override {
    if (!s.ok()) ++failures;
  }
  void OnEscalation(const Service&, const ProcessIdentity& p, int,
                    const Status& s) override {
    killed.push_back(p);
    escalation_ok = s.ok();
  }
  void OnResidentMemory(const Service&, uint64_t) override {}
  void OnNotice(const Service&, const std::string& text) override {
    notices.push_back(text);
  }
  std::vector<ServiceState> states;
  std::vector<std::string> restart_reasons, notices;
  std::vector<ProcessIdentity> killed;
  bool escalation_ok = false;
  int failures = 0;
};

// A real child process to stand for the service's process.
class Child {
 public:
  Child() {
    pid_ = fork();
    if (pid_ == 0) {
      pause();
      _exit(0);
    }
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  ServiceConfig Config() {
    ServiceConfig c;
    c.name = "web";
    c.program = "web";
    c.supervisor = "main";
    c.start_grace = seconds(2);
    // Long: only the escalation test wants the stop to be cut short.
    c.stop_timeout = seconds(30);
    c.restart_limit = {3, std::chrono::minutes(10),
                       RestartLimitAction::kUnmonitor};
    c.restart_backoff = {seconds(1), seconds(8)};
    return c;
  }

  CheckConfig HealthCheck(OnFailure on_failure = OnFailure::kRestart) {
    CheckConfig c;
    c.name = "health";
    c.probe = ExecProbeConfig{{"/bin/true"}, {}};
    c.interval = milliseconds(500);
    c.timeout = milliseconds(400);
    c.jitter = 0;
    c.failures = 2;
    c.on_failure = on_failure;
    return c;
  }

  std::unique_ptr<Service> Make(ServiceConfig config, ProbeOutcome* outcome,
                                Events* events, FakeSupervisor* sup,
                                OnFailure on_failure = OnFailure::kRestart) {
    auto s = std::make_unique<Service>(config, sup, &loop_, &random_, events,
                                       SystemProcessTable());
    s->AddCheck(HealthCheck(on_failure), std::make_unique<SwitchProbe>(outcome),
                nullptr);
    return s;
  }

  // Steps fake time, answering status lookups as they come.
  void Advance(Duration d, std::vector<FakeSupervisor*> sups = {}) {
    for (Duration done{0}; done < d; done += milliseconds(50)) {
      clock_.Advance(milliseconds(50));
      loop_.RunOnce(Duration::zero());
      for (auto* s : sups) s->AnswerStatus();
      loop_.RunOnce(Duration::zero());
    }
  }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  Random random_{7};
};

TEST_F(ServiceTest, HungProcessIsRestartedThenGivenItsGrace) {
  Child first, second;
  FakeSupervisor sup;
  sup.pid = first.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(1), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  ASSERT_TRUE(svc->process().has_value());
  EXPECT_EQ(svc->process()->pid, first.pid());

  outcome = ProbeOutcome::kTimeout;
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 1u);
  EXPECT_EQ(sup.restarts[0].pid, first.pid());
  EXPECT_EQ(svc->state(), ServiceState::kRestarting);
  EXPECT_EQ(events.restart_reasons, std::vector<std::string>{"health"});

  // The supervisor brings up a new process; failures inside the grace do
  // not count, and the counters start afresh.
  sup.pid = second.pid();
  sup.Finish();
  Advance(milliseconds(200), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kStarting);
  ASSERT_TRUE(svc->process().has_value());
  EXPECT_EQ(svc->process()->pid, second.pid());
  Advance(seconds(1), {&sup});
  EXPECT_EQ(svc->checks()[0]->consecutive_failures(), 0);
  outcome = ProbeOutcome::kSuccess;
  Advance(seconds(2), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  EXPECT_EQ(sup.restarts.size(), 1u);
  EXPECT_EQ(svc->restarts(), 1);
}

TEST_F(ServiceTest, RestartLimitUnmonitorsAfterMaxRestarts) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  ServiceConfig config = Config();
  config.restart_limit.max = 2;
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  for (int i = 0; i < 40 && svc->state() != ServiceState::kUnmonitored; ++i) {
    Advance(milliseconds(500), {&sup});
    while (!sup.pending.empty()) sup.Finish();
  }
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored);
  EXPECT_EQ(sup.restarts.size(), 2u);
  EXPECT_NE(svc->reason().find("restart limit reached"), std::string::npos);
  Advance(seconds(10), {&sup});
  EXPECT_EQ(sup.restarts.size(), 2u) << "no restart once unmonitored";
  // Checks keep running and reporting while unmonitored.
  EXPECT_EQ(svc->checks()[0]->state(), CheckState::kFailing);
  svc->Resume();
  Advance(seconds(2), {&sup});
  EXPECT_EQ(sup.restarts.size(), 3u) << "resume acts again";
}

TEST_F(ServiceTest, BackoffSpacesConsecutiveRestarts) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  ServiceConfig config = Config();
  config.start_grace = Duration::zero();
  config.restart_limit.max = 100;
  config.restart_backoff = {seconds(2), seconds(8)};
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  std::vector<TimePoint> at;
  for (int i = 0; i < 300 && at.size() < 4; ++i) {
    Advance(milliseconds(100), {&sup});
    while (!sup.pending.empty()) {
      at.push_back(loop_.Now());
      sup.Finish();
    }
  }
  ASSERT_EQ(at.size(), 4u);
  // Gaps grow: detection only, then + 2 s, + 4 s backoff.
  EXPECT_GE(at[2] - at[1], seconds(2));
  EXPECT_GE(at[3] - at[2], seconds(4));
  EXPECT_GT(at[3] - at[2], at[2] - at[1]);
}

TEST_F(ServiceTest, FailedRestartIsReportedAndRetried) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 1u);
  sup.Finish(Status::Error("cannot reach supervisord at unix:///x.sock"));
  Advance(milliseconds(200), {&sup});
  EXPECT_EQ(events.failures, 1);
  EXPECT_EQ(svc->state(), ServiceState::kHung);
  Advance(seconds(3), {&sup});
  EXPECT_EQ(sup.restarts.size(), 2u) << "retried after the backoff";
  EXPECT_EQ(svc->restarts(), 0) << "failed restarts do not count";
}

TEST_F(ServiceTest, BackoffGrowsWhileRestartsKeepFailing) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  ServiceConfig config = Config();
  config.restart_backoff = {seconds(1), seconds(8)};
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  // Healthy far longer than restart_backoff.max, then failing for good.
  Advance(seconds(10), {&sup});
  outcome = ProbeOutcome::kFailure;
  std::vector<TimePoint> at;
  for (int i = 0; i < 600 && at.size() < 4; ++i) {
    Advance(milliseconds(100), {&sup});
    while (!sup.pending.empty()) {
      at.push_back(loop_.Now());
      sup.Finish(Status::Error("cannot reach supervisord"));
    }
  }
  ASSERT_EQ(at.size(), 4u);
  EXPECT_GE(at[1] - at[0], seconds(1));
  EXPECT_GE(at[2] - at[1], seconds(2));
  EXPECT_GE(at[3] - at[2], seconds(4));
}

TEST_F(ServiceTest, FailingDependencyBlocksTheRestart) {
  Child web_child, db_child;
  FakeSupervisor web_sup, db_sup;
  web_sup.pid = web_child.pid();
  db_sup.pid = db_child.pid();
  Events web_events, db_events;
  ProbeOutcome web_outcome = ProbeOutcome::kFailure;
  ProbeOutcome db_outcome = ProbeOutcome::kFailure;
  ServiceConfig db_config = Config();
  db_config.name = "db";
  auto db =
      Make(db_config, &db_outcome, &db_events, &db_sup, OnFailure::kAlert);
  auto web = Make(Config(), &web_outcome, &web_events, &web_sup);
  web->SetDependencies({db.get()});
  db->Start();
  web->Start();
  Advance(seconds(5), {&web_sup, &db_sup});
  EXPECT_EQ(db->state(), ServiceState::kFailing);
  EXPECT_EQ(web->state(), ServiceState::kBlocked);
  EXPECT_NE(web->reason().find("dependency db is failing"), std::string::npos);
  EXPECT_TRUE(web_sup.restarts.empty());

  // The dependency recovers: web is judged afresh, then restarted if it
  // still fails.
  db_outcome = ProbeOutcome::kSuccess;
  Advance(seconds(1), {&web_sup, &db_sup});
  EXPECT_EQ(db->state(), ServiceState::kOk);
  Advance(seconds(2), {&web_sup, &db_sup});
  EXPECT_EQ(web_sup.restarts.size(), 1u);
}

TEST_F(ServiceTest, DeadProcessIsLeftToTheSupervisorThenStarted) {
  FakeSupervisor sup;
  sup.pid = 0;  // not running
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(1), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kDead);
  EXPECT_TRUE(sup.starts.empty()) << "start_grace for the supervisor first";
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.starts.size(), 1u);
  EXPECT_TRUE(sup.restarts.empty());
  EXPECT_EQ(events.restart_reasons, std::vector<std::string>{"dead"});
}

TEST_F(ServiceTest, RespawnBySupervisorIsPickedUpWithoutARestart) {
  Child first, second;
  FakeSupervisor sup;
  sup.pid = first.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  ServiceConfig config = Config();
  auto svc = std::make_unique<Service>(config, &sup, &loop_, &random_, &events,
                                       SystemProcessTable());
  svc->AddCheck(HealthCheck(), std::make_unique<SwitchProbe>(&outcome),
                nullptr);
  CheckConfig process = HealthCheck(OnFailure::kAlert);
  process.name = "alive";
  process.probe = ProcessProbeConfig{};
  svc->AddCheck(process, std::make_unique<SwitchProbe>(&outcome), nullptr);
  svc->Start();
  Advance(seconds(1), {&sup});
  ASSERT_EQ(svc->process()->pid, first.pid());
  // The process died and the supervisor started another one.
  sup.pid = second.pid();
  svc->Lookup(nullptr);
  Advance(milliseconds(200), {&sup});
  EXPECT_EQ(svc->process()->pid, second.pid());
  EXPECT_EQ(svc->state(), ServiceState::kStarting);
  Advance(seconds(3), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  EXPECT_TRUE(sup.restarts.empty());
  EXPECT_TRUE(sup.starts.empty());
}

TEST_F(ServiceTest, HungStopIsEscalatedToSigkillOfTheRecordedProcess) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  ProcessIdentity id{pid, ReadProcStat(pid)->start_time};
  kill(pid, SIGSTOP);
  FakeSupervisor sup;
  sup.pid = pid;
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  ServiceConfig config = Config();
  config.stop_timeout = seconds(1);
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 1u);
  // The supervisor's stop never ends: after stop_timeout watchd kills it.
  Advance(milliseconds(1200), {&sup});
  ASSERT_EQ(events.killed.size(), 1u);
  EXPECT_EQ(events.killed[0], id);
  EXPECT_TRUE(events.escalation_ok);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST_F(ServiceTest, StopCancelsEverythingInFlight) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 1u);
  ASSERT_GT(sup.live_calls, 0);
  svc->Stop();
  EXPECT_EQ(sup.live_calls, 0) << "every supervisor call cancelled";
  EXPECT_EQ(loop_.pending_timers(), 0u);
}

TEST_F(ServiceTest, OperatorPauseStopsActingButNotChecking) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Pause();
  svc->Start();
  Advance(seconds(3), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored);
  EXPECT_EQ(svc->checks()[0]->state(), CheckState::kFailing);
  EXPECT_TRUE(sup.restarts.empty());
  std::vector<std::string> answers;
  auto record = [&](const Status& s) { answers.push_back(s.ToString()); };
  EXPECT_TRUE(svc->RestartNow(record).ok());
  EXPECT_EQ(sup.restarts.size(), 1u);
  // A second operator joins the restart running: one restart, two answers.
  EXPECT_TRUE(svc->RestartNow(record).ok());
  EXPECT_EQ(sup.restarts.size(), 1u) << "one restart at a time";
  EXPECT_TRUE(answers.empty()) << "answered from the loop, when it ends";
  sup.Finish();
  Advance(seconds(1), {&sup});
  EXPECT_EQ(answers, (std::vector<std::string>{"ok", "ok"}));
}

// An operator's restart that is still running when the service stops is
// answered with why.
TEST_F(ServiceTest, OperatorRestartIsAnsweredWhenTheServiceStops) {
  FakeSupervisor sup;  // answers no restart until told
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Start();
  std::vector<std::string> answers;
  ASSERT_TRUE(
      svc->RestartNow([&](const Status& s) { answers.push_back(s.ToString()); })
          .ok());
  EXPECT_TRUE(answers.empty());
  svc->Stop();
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_NE(answers[0].find("stopped watching"), std::string::npos)
      << answers[0];
}

// Not knowing is not failing: a supervisor that cannot be asked, or that
// hangs, makes the service unknown, and nothing is restarted on it.
TEST_F(ServiceTest, UnreachableOrHangingSupervisorIsUnknownNotHung) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ServiceConfig config = Config();
  auto svc = std::make_unique<Service>(config, &sup, &loop_, &random_, &events,
                                       SystemProcessTable());
  CheckConfig alive = HealthCheck();
  alive.name = "alive";
  alive.probe = ProcessProbeConfig{};
  svc->AddCheck(alive, std::make_unique<ProcessProbe>(svc.get()), nullptr);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(svc->state(), ServiceState::kOk) << svc->reason();

  sup.status_error = "cannot connect to unix:///run/supervisor.sock";
  Advance(seconds(5), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kUnknown);
  EXPECT_EQ(svc->reason(),
            "supervisor unreachable: cannot connect to "
            "unix:///run/supervisor.sock");
  EXPECT_EQ(svc->checks()[0]->last_result()->outcome, ProbeOutcome::kError);
  EXPECT_TRUE(sup.restarts.empty());
  EXPECT_TRUE(sup.starts.empty());

  sup.status_error.clear();
  Advance(seconds(3), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk) << svc->reason();

  // SIGSTOPped supervisord: its answers never come, runs time out.
  sup.hang = true;
  Advance(seconds(5), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kUnknown);
  EXPECT_NE(svc->reason().find("cannot tell: no answer about the process"),
            std::string::npos)
      << svc->reason();
  EXPECT_TRUE(sup.restarts.empty());
  sup.hang = false;
  Advance(seconds(3), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk) << svc->reason();
  EXPECT_TRUE(sup.restarts.empty());
}

// supervisord's startsecs above the supervisor timeout: the call times out
// although the restart happens. It counts, so restart_limit trips.
TEST_F(ServiceTest, TimedOutRestartThatHappenedIsCounted) {
  Child first;
  FakeSupervisor sup;
  sup.pid = first.pid();
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  ServiceConfig config = Config();
  config.restart_limit.max = 1;
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 1u);
  // Started by the call that then timed out.
  Child second;
  sup.pid = second.pid();
  sup.Finish(Status::Error("timed out after 2s"));
  Advance(milliseconds(200), {&sup});
  EXPECT_EQ(events.failures, 0);
  EXPECT_EQ(svc->restarts(), 1);
  ASSERT_FALSE(events.notices.empty());
  EXPECT_NE(events.notices.back().find("counted as a restart"),
            std::string::npos)
      << events.notices.back();
  EXPECT_EQ(svc->state(), ServiceState::kStarting);
  // Still failing after its grace: the limit of one restart is reached.
  Advance(seconds(10), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored) << svc->reason();
  EXPECT_EQ(sup.restarts.size(), 1u);

  // A timed-out call after which the same process runs is a failure.
  svc->Resume();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 2u);
  sup.Finish(Status::Error("timed out after 2s"));
  Advance(milliseconds(200), {&sup});
  EXPECT_EQ(events.failures, 1);
}

// The supervisor's timeout is shorter than stop_timeout: its call fails
// first, and escalation must still end the stop.
TEST_F(ServiceTest, EscalationOutlivesAFailedCallAndEndsTheTree) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = fork();
  if (pid == 0) {
    // A master with a worker, as nginx runs.
    if (fork() == 0) {
      pause();
      _exit(0);
    }
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  close(ready[1]);
  std::vector<pid_t> workers = ReadDescendants(pid);
  ASSERT_EQ(workers.size(), 1u);
  ProcessIdentity worker{workers[0], ReadProcStat(workers[0])->start_time};
  kill(pid, SIGSTOP);
  kill(worker.pid, SIGSTOP);
  FakeSupervisor sup;
  sup.pid = pid;
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kFailure;
  ServiceConfig config = Config();
  config.stop_timeout = seconds(2);
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(sup.restarts.size(), 1u);
  sup.Finish(Status::Error("timed out after 1s"));
  Advance(seconds(3), {&sup});
  ASSERT_EQ(events.killed.size(), 1u);
  EXPECT_EQ(events.killed[0].pid, pid);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return !SystemProcessTable()->IsAlive(worker); }, seconds(10)))
      << "the worker went with its master";
}

// A dependency past its own restart_limit is unmonitored but still broken:
// its dependant must not be restarted in its place.
TEST_F(ServiceTest, UnmonitoredDependencyThatFailsStillBlocks) {
  Child web_child, db_child;
  FakeSupervisor web_sup, db_sup;
  web_sup.pid = web_child.pid();
  db_sup.pid = db_child.pid();
  Events web_events, db_events;
  ProbeOutcome web_outcome = ProbeOutcome::kSuccess;
  ProbeOutcome db_outcome = ProbeOutcome::kFailure;
  ServiceConfig db_config = Config();
  db_config.name = "db";
  db_config.restart_limit.max = 1;
  auto db = Make(db_config, &db_outcome, &db_events, &db_sup);
  auto web = Make(Config(), &web_outcome, &web_events, &web_sup);
  web->SetDependencies({db.get()});
  db->Start();
  web->Start();
  for (int i = 0; i < 40 && db->state() != ServiceState::kUnmonitored; ++i) {
    Advance(milliseconds(500), {&web_sup, &db_sup});
    while (!db_sup.pending.empty()) db_sup.Finish();
  }
  ASSERT_EQ(db->state(), ServiceState::kUnmonitored);
  EXPECT_EQ(db->health(), ServiceState::kHung);
  web_outcome = ProbeOutcome::kFailure;
  Advance(seconds(20), {&web_sup, &db_sup});
  EXPECT_EQ(web->state(), ServiceState::kBlocked) << web->reason();
  EXPECT_EQ(web->reason(), "dependency db is hung");
  EXPECT_TRUE(web_sup.restarts.empty());
}

// A dependant fails a moment before its dependency's check notices: it
// waits one run of that check, and is blocked when it fails.
TEST_F(ServiceTest, DependantWaitsOneRunOfItsDependencysChecks) {
  Child web_child, db_child;
  FakeSupervisor web_sup, db_sup;
  web_sup.pid = web_child.pid();
  db_sup.pid = db_child.pid();
  Events web_events, db_events;
  ProbeOutcome web_outcome = ProbeOutcome::kSuccess;
  ProbeOutcome db_outcome = ProbeOutcome::kSuccess;
  ServiceConfig db_config = Config();
  db_config.name = "db";
  auto db = Make(db_config, &db_outcome, &db_events, &db_sup);
  auto web = Make(Config(), &web_outcome, &web_events, &web_sup);
  web->SetDependencies({db.get()});
  db->Start();
  web->Start();
  Advance(seconds(2), {&web_sup, &db_sup});
  ASSERT_EQ(web->state(), ServiceState::kOk);
  web_outcome = ProbeOutcome::kFailure;
  for (int i = 0; i < 100 && web->state() != ServiceState::kHung; ++i) {
    Advance(milliseconds(10), {&web_sup, &db_sup});
  }
  ASSERT_EQ(web->state(), ServiceState::kHung);
  db_outcome = ProbeOutcome::kFailure;
  Advance(seconds(3), {&web_sup, &db_sup});
  EXPECT_EQ(web->state(), ServiceState::kBlocked) << web->reason();
  EXPECT_TRUE(web_sup.restarts.empty());
}

// --- the supervisor's own limits --------------------------------------------

size_t CountContaining(const std::vector<std::string>& texts,
                       const std::string& part) {
  size_t n = 0;
  for (const std::string& t : texts) n += t.find(part) != std::string::npos;
  return n;
}

TEST_F(ServiceTest, SupervisorGiveUpIsDeadWithItsReasonAndLeftAlone) {
  FakeSupervisor sup;
  sup.hold = ProgramHold::kGaveUp;
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  auto svc = Make(Config(), &outcome, &events, &sup);
  svc->Start();
  // Far past start_grace and any backoff: nothing is asked.
  Advance(seconds(30), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kDead);
  EXPECT_EQ(svc->reason(), "supervisor gave up: FATAL (Exited too quickly)");
  EXPECT_TRUE(sup.starts.empty());
  EXPECT_TRUE(sup.restarts.empty());
  EXPECT_TRUE(sup.recovers.empty());
  EXPECT_TRUE(events.restart_reasons.empty());
  // Said once, not at every look.
  EXPECT_EQ(CountContaining(events.notices, "recover_supervisor_giveup is off"),
            1u);
  EXPECT_EQ(CountContaining(events.notices, "supervisor gave up: FATAL"), 1u);

  // The supervisor runs it again (cleared by hand): the next give-up is
  // said again.
  Child child;
  sup.pid = child.pid();
  sup.hold = ProgramHold::kNone;
  Advance(seconds(3), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  sup.pid = 0;
  sup.hold = ProgramHold::kGaveUp;
  svc->Lookup(nullptr);  // as a process check's run would
  Advance(seconds(5), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kDead);
  EXPECT_EQ(CountContaining(events.notices, "recover_supervisor_giveup is off"),
            2u);

  // The operator's restart clears it whatever the key says.
  ASSERT_TRUE(svc->RestartNow().ok());
  ASSERT_EQ(sup.recovers.size(), 1u);
  EXPECT_TRUE(sup.restarts.empty());
  EXPECT_EQ(events.restart_reasons, std::vector<std::string>{"operator"});
  EXPECT_EQ(svc->state(), ServiceState::kRestarting);
  EXPECT_EQ(svc->reason(),
            "recovering: requested by operator; supervisor gave up: FATAL "
            "(Exited too quickly)");
}

TEST_F(ServiceTest, SupervisorBackingOffIsLeftToRespawnIt) {
  FakeSupervisor sup;
  sup.hold = ProgramHold::kBackingOff;
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  ServiceConfig config = Config();
  config.recover_supervisor_giveup = true;
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  Advance(seconds(10), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kDead);
  EXPECT_EQ(svc->reason(),
            "supervisor backing off: BACKOFF (Exited too quickly)");
  EXPECT_TRUE(sup.starts.empty());
  EXPECT_TRUE(sup.recovers.empty());
  // Its retry works: the new process is picked up, nothing was asked.
  Child child;
  sup.pid = child.pid();
  sup.hold = ProgramHold::kNone;
  Advance(seconds(4), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  EXPECT_TRUE(events.restart_reasons.empty());
}

TEST_F(ServiceTest, SupervisorGiveUpIsRecoveredWhenConfigured) {
  FakeSupervisor sup;
  sup.hold = ProgramHold::kGaveUp;
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  ServiceConfig config = Config();
  config.recover_supervisor_giveup = true;
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  // At once: the supervisor will not respawn it, so no start_grace first.
  Advance(milliseconds(500), {&sup});
  ASSERT_EQ(sup.recovers.size(), 1u);
  EXPECT_EQ(sup.recovers[0].program, "web");
  EXPECT_EQ(sup.recovers[0].pid, 0);
  EXPECT_TRUE(sup.starts.empty());
  EXPECT_EQ(events.restart_reasons,
            std::vector<std::string>{kGiveUpRestartReason});
  EXPECT_EQ(svc->state(), ServiceState::kRestarting);
  EXPECT_EQ(svc->reason(),
            "recovering: supervisor gave up: FATAL (Exited too quickly)");
  Child child;
  sup.pid = child.pid();
  sup.hold = ProgramHold::kNone;
  sup.Finish();
  Advance(milliseconds(200), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kStarting);
  Advance(seconds(3), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  EXPECT_EQ(svc->restarts(), 1);
  EXPECT_EQ(sup.recovers.size(), 1u);
  EXPECT_EQ(CountContaining(events.notices, "recover_supervisor_giveup"), 0u);
}

// A program that fails at once is given up again after every recovery:
// the recoveries are spaced by the backoff, a refused one is retried and not
// counted, and restart_limit ends it.
TEST_F(ServiceTest, RecoveriesCountTowardTheLimitUnderTheBackoff) {
  FakeSupervisor sup;
  sup.hold = ProgramHold::kGaveUp;
  Events events;
  ProbeOutcome outcome = ProbeOutcome::kSuccess;
  ServiceConfig config = Config();
  config.recover_supervisor_giveup = true;
  config.start_grace = Duration::zero();
  config.restart_limit.max = 2;
  config.restart_backoff = {seconds(1), seconds(8)};
  auto svc = Make(config, &outcome, &events, &sup);
  svc->Start();
  std::vector<TimePoint> asked;
  for (int i = 0; i < 400 && svc->state() != ServiceState::kUnmonitored; ++i) {
    Advance(milliseconds(50), {&sup});
    while (!sup.pending.empty()) {
      asked.push_back(loop_.Now());
      // The first is refused (supervisord unreachable, say).
      sup.Finish(asked.size() == 1 ? Status::Error("cannot reach supervisord")
                                   : Status::Ok());
    }
  }
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored) << svc->reason();
  EXPECT_NE(svc->reason().find("restart limit reached"), std::string::npos);
  ASSERT_EQ(sup.recovers.size(), 3u);
  EXPECT_TRUE(sup.starts.empty());
  EXPECT_TRUE(sup.restarts.empty());
  EXPECT_EQ(svc->restarts(), 2);
  EXPECT_EQ(events.failures, 1);
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_GE(asked[1] - asked[0], seconds(1));
  EXPECT_GE(asked[2] - asked[1], seconds(2)) << "the backoff doubles";
  EXPECT_EQ(CountContaining(events.notices, "restart limit reached"), 1u);
  Advance(seconds(30), {&sup});
  EXPECT_EQ(sup.recovers.size(), 3u) << "none once unmonitored";
}

TEST_F(ServiceTest, RecoveryWaitsForAFailingDependency) {
  Child db_child;
  FakeSupervisor web_sup, db_sup;
  web_sup.hold = ProgramHold::kGaveUp;
  db_sup.pid = db_child.pid();
  Events web_events, db_events;
  ProbeOutcome web_outcome = ProbeOutcome::kSuccess;
  ProbeOutcome db_outcome = ProbeOutcome::kFailure;
  ServiceConfig db_config = Config();
  db_config.name = "db";
  ServiceConfig web_config = Config();
  web_config.recover_supervisor_giveup = true;
  auto db =
      Make(db_config, &db_outcome, &db_events, &db_sup, OnFailure::kAlert);
  auto web = Make(web_config, &web_outcome, &web_events, &web_sup);
  web->SetDependencies({db.get()});
  db->Start();
  web->Start();
  Advance(seconds(5), {&web_sup, &db_sup});
  EXPECT_EQ(db->state(), ServiceState::kFailing);
  EXPECT_EQ(web->state(), ServiceState::kDead);
  EXPECT_TRUE(web_sup.recovers.empty());
  db_outcome = ProbeOutcome::kSuccess;
  Advance(seconds(3), {&web_sup, &db_sup});
  EXPECT_EQ(web_sup.recovers.size(), 1u);
}

// --- pid from a pidfile ----------------------------------------------------

class PidfileServiceTest : public ServiceTest {
 protected:
  std::unique_ptr<Service> MakeWithPidfile(Events* events) {
    ServiceConfig config = Config();
    config.supervisor.reset();
    config.pidfile = pidfile_;
    return std::make_unique<Service>(config, nullptr, &loop_, &random_, events,
                                     SystemProcessTable());
  }
  void WritePid(pid_t pid) {
    ASSERT_TRUE(testing::WriteFile(pidfile_, std::to_string(pid) + "\n"));
  }
  // What a probe's lookup gets: answered from the loop, never inside
  // Lookup (R1).
  ProcessLookup LookUp(Service& svc) {
    std::optional<ProcessLookup> out;
    svc.Lookup([&](const ProcessLookup& r) { out = r; });
    EXPECT_FALSE(out.has_value()) << "answered inside Lookup";
    for (int i = 0; i < 3 && !out; ++i) loop_.RunOnce(Duration::zero());
    EXPECT_TRUE(out.has_value()) << "a pidfile lookup answers in one pass";
    return out.value_or(ProcessLookup{});
  }
  static bool Found(const ProcessLookup& l) {
    return l.presence == ProcessLookup::Presence::kFound;
  }

  testing::TempDir dir_;
  const std::string pidfile_ = dir_.File("web.pid");
};

TEST_F(PidfileServiceTest, LookupHandsOverTheStatItRead) {
  Child child;
  WritePid(child.pid());
  Events events;
  auto svc = MakeWithPidfile(&events);
  svc->Start();
  auto found = LookUp(*svc);
  ASSERT_TRUE(Found(found)) << found.reason;
  EXPECT_EQ(found.found.identity.pid, child.pid());
  ASSERT_TRUE(found.found.stat.has_value());
  EXPECT_EQ(found.found.stat->pid, child.pid());
  EXPECT_EQ(found.found.stat->start_time, found.found.identity.start_time);
  EXPECT_EQ(found.found.identity.start_time,
            ReadProcStat(child.pid()).value().start_time);
  EXPECT_EQ(svc->state(), ServiceState::kOk);
}

// Checks due in the same pass share one look at the process; the next
// pass looks again and sees a new pid (and treats it as a new process).
TEST_F(PidfileServiceTest, SharedLookupStillDetectsAPidChange) {
  Child first, second;
  WritePid(first.pid());
  Events events;
  auto svc = MakeWithPidfile(&events);
  svc->Start();
  std::vector<pid_t> seen;
  for (int i = 0; i < 2; ++i) {
    svc->Lookup(
        [&](const ProcessLookup& l) { seen.push_back(l.found.identity.pid); });
  }
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(seen, (std::vector<pid_t>{first.pid(), first.pid()}))
      << "lookups queued together share one look";
  WritePid(second.pid());
  clock_.Advance(milliseconds(1));
  auto found = LookUp(*svc);
  ASSERT_TRUE(Found(found)) << found.reason;
  EXPECT_EQ(found.found.identity.pid, second.pid());
  EXPECT_EQ(found.found.stat->pid, second.pid());
  ASSERT_TRUE(svc->process().has_value());
  EXPECT_EQ(svc->process()->pid, second.pid());
  ASSERT_FALSE(events.notices.empty());
  EXPECT_NE(events.notices.back().find("new process pid " +
                                       std::to_string(second.pid())),
            std::string::npos)
      << events.notices.back();
  EXPECT_EQ(svc->state(), ServiceState::kStarting) << "its start_grace";
}

// The pidfile stays the same while its process dies: neither the cached
// pidfile nor a shared lookup may hide it, and a zombie is never "found".
TEST_F(PidfileServiceTest, DeathBehindAnUnchangedPidfileIsSeen) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    pause();
    _exit(0);
  }
  WritePid(pid);
  // Old enough for the service to stop re-reading it while it is unchanged.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        auto stamp = StampFile(pidfile_);
        timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        return stamp.ok() &&
               stamp->ctime_ns +
                       (PidfileReader::kSettle + milliseconds(100)).count() <
                   static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
      },
      seconds(10)));
  Events events;
  auto svc = MakeWithPidfile(&events);
  svc->Start();
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(milliseconds(10));
    ASSERT_TRUE(Found(LookUp(*svc)));
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
  clock_.Advance(milliseconds(1));
  auto found = LookUp(*svc);
  ASSERT_FALSE(Found(found)) << pid << " died";
  EXPECT_NE(found.reason.find("zombie"), std::string::npos) << found.reason;
  waitpid(pid, nullptr, 0);
  clock_.Advance(milliseconds(10));
  found = LookUp(*svc);
  ASSERT_FALSE(Found(found));
  EXPECT_NE(found.reason.find("is not running"), std::string::npos)
      << found.reason;
  EXPECT_FALSE(svc->process().has_value());
  EXPECT_EQ(svc->state(), ServiceState::kDead);
}

TEST_F(PidfileServiceTest, PidfileOlderThanItsProcessNamesARecycledPid) {
  Child child;
  WritePid(child.pid());
  // Written an hour before the process it names started.
  timespec times[2];
  clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= 3600;
  times[1] = times[0];
  ASSERT_EQ(utimensat(AT_FDCWD, pidfile_.c_str(), times, 0), 0);
  Events events;
  auto svc = MakeWithPidfile(&events);
  svc->Start();
  auto found = LookUp(*svc);
  ASSERT_FALSE(Found(found));
  EXPECT_NE(found.reason.find("recycled pid"), std::string::npos)
      << found.reason;
}

// The commonest event there is: the process under a pidfile is replaced
// (it crashed and its init script started another). The process check's
// own lookup discovers it, which starts the grace and resets the checks —
// the very check whose run is asking. It once aborted watchd with
// std::bad_function_call.
TEST_F(PidfileServiceTest, ProcessReplacedUnderItsPidfileThreeTimes) {
  Child first;
  WritePid(first.pid());
  Events events;
  ServiceConfig config = Config();
  config.supervisor.reset();
  config.pidfile = pidfile_;
  auto svc = std::make_unique<Service>(config, nullptr, &loop_, &random_,
                                       &events, SystemProcessTable());
  CheckConfig alive = HealthCheck(OnFailure::kAlert);
  alive.name = "alive";
  alive.probe = ProcessProbeConfig{};
  svc->AddCheck(alive, std::make_unique<ProcessProbe>(svc.get()), nullptr);
  CheckConfig memory = alive;
  memory.name = "memory";
  memory.probe = MemoryProbeConfig{};
  svc->AddCheck(
      memory,
      std::make_unique<MemoryProbe>(MemoryProbeConfig{1ull << 40}, svc.get()),
      nullptr);
  svc->Start();
  Advance(seconds(3));
  ASSERT_EQ(svc->state(), ServiceState::kOk) << svc->reason();
  for (int i = 0; i < 3; ++i) {
    Child next;
    WritePid(next.pid());
    Advance(milliseconds(600));
    ASSERT_TRUE(svc->process().has_value());
    EXPECT_EQ(svc->process()->pid, next.pid());
    EXPECT_EQ(svc->state(), ServiceState::kStarting);
    EXPECT_NE(events.notices.back().find("new process pid " +
                                         std::to_string(next.pid())),
              std::string::npos)
        << events.notices.back();
    Advance(seconds(3));
    EXPECT_EQ(svc->state(), ServiceState::kOk) << svc->reason();
    EXPECT_EQ(svc->checks()[0]->state(), CheckState::kPassing);
  }
}

// A probe that never answers and tells whether it was cancelled and
// destroyed.
class SilentProbe : public Probe {
 public:
  explicit SilentProbe(int* cancels, bool* destroyed)
      : cancels_(cancels), destroyed_(destroyed) {}
  ~SilentProbe() override { *destroyed_ = true; }
  void Start(Duration, DoneCallback) override {}
  void Cancel() override { ++*cancels_; }

 private:
  int* cancels_;
  bool* destroyed_;
};

TEST_F(ServiceTest, ReloadKeepsNamedChecksAddsAndDropsOthers) {
  Child child;
  FakeSupervisor sup;
  sup.pid = child.pid();
  Events events;
  ProbeOutcome ok = ProbeOutcome::kSuccess;
  auto svc = Make(Config(), &ok, &events, &sup);
  int cancels = 0;
  bool destroyed = false;
  CheckConfig silent = HealthCheck(OnFailure::kAlert);
  silent.name = "silent";
  silent.timeout = seconds(20);
  svc->AddCheck(silent, std::make_unique<SilentProbe>(&cancels, &destroyed),
                nullptr);
  svc->Start();
  Advance(seconds(2), {&sup});
  ASSERT_EQ(svc->state(), ServiceState::kOk);
  const Check* kept = svc->checks()[0].get();
  ASSERT_EQ(kept->state(), CheckState::kPassing);
  const int successes = kept->consecutive_successes();
  const TimePoint next = kept->next_run();
  ASSERT_TRUE(svc->checks()[1]->running());

  // health kept, silent (mid-run) dropped, extra added and failing.
  ProbeOutcome failing = ProbeOutcome::kFailure;
  CheckConfig extra = HealthCheck(OnFailure::kAlert);
  extra.name = "extra";
  std::vector<Service::CheckPlan> plan;
  plan.push_back({"health", nullptr, nullptr, nullptr});
  plan.push_back(
      {"extra", &extra, std::make_unique<SwitchProbe>(&failing), nullptr});
  svc->ReplaceChecks(std::move(plan));
  EXPECT_TRUE(destroyed);
  EXPECT_EQ(cancels, 1);
  ASSERT_EQ(svc->checks().size(), 2u);
  EXPECT_EQ(svc->checks()[0].get(), kept);
  EXPECT_EQ(kept->consecutive_successes(), successes);
  EXPECT_EQ(kept->next_run(), next);
  EXPECT_EQ(svc->checks()[1]->name(), "extra");
  Advance(seconds(2), {&sup});
  EXPECT_EQ(svc->state(), ServiceState::kFailing);

  // Dropping the failing check makes the service ok at once.
  plan.clear();
  plan.push_back({"health", nullptr, nullptr, nullptr});
  svc->ReplaceChecks(std::move(plan));
  EXPECT_EQ(svc->checks().size(), 1u);
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  EXPECT_TRUE(sup.restarts.empty());
}

TEST_F(ServiceTest, ReloadedDependenciesReplaceTheOldOnes) {
  Child web_child, db_child;
  FakeSupervisor web_sup, db_sup;
  web_sup.pid = web_child.pid();
  db_sup.pid = db_child.pid();
  Events web_events, db_events, db2_events;
  ProbeOutcome web_outcome = ProbeOutcome::kFailure;
  ProbeOutcome db_outcome = ProbeOutcome::kFailure;
  ProbeOutcome db2_outcome = ProbeOutcome::kSuccess;
  ServiceConfig db_config = Config();
  db_config.name = "db";
  auto db =
      Make(db_config, &db_outcome, &db_events, &db_sup, OnFailure::kAlert);
  auto db2 =
      Make(db_config, &db2_outcome, &db2_events, &db_sup, OnFailure::kAlert);
  auto web = Make(Config(), &web_outcome, &web_events, &web_sup);
  web->SetDependencies({db.get()});
  db->Start();
  db2->Start();
  web->Start();
  Advance(seconds(5), {&web_sup, &db_sup});
  ASSERT_EQ(web->state(), ServiceState::kBlocked);

  // A reload replaced db: the old one goes, web depends on the new one,
  // which works, so web is restarted for its own failure.
  db.reset();
  web->SetDependencies({db2.get()});
  Advance(seconds(3), {&web_sup, &db_sup});
  EXPECT_EQ(web_sup.restarts.size(), 1u);

  // And a dependant destroyed first leaves no pointer behind in db2.
  web.reset();
  db2_outcome = ProbeOutcome::kFailure;
  Advance(seconds(3), {&db_sup});
  EXPECT_EQ(db2->state(), ServiceState::kFailing);
}

}  // namespace
}  // namespace watchd
