// What a Service keeps across restarts of watchd (SaveState, RestoreState):
// a service saved by one watchd and restored into the next goes on as if
// watchd had never stopped, against a FakeProcessTable.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "actions/supervisor.h"
#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "core/random.h"
#include "health/service.h"
#include "os/fake_process_table.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kBoot[] = "0f5b6c1e-8d2a-4c3b-9e7f-112233445566";
constexpr char kOtherBoot[] = "99999999-8d2a-4c3b-9e7f-112233445566";
constexpr char kPidfile[] = "/run/web.pid";

// A probe whose every run answers with the outcome the test sets.
class SwitchProbe : public Probe {
 public:
  explicit SwitchProbe(const ProbeOutcome* outcome) : outcome_(outcome) {}
  void Start(Duration, DoneCallback done) override {
    done(ProbeResult(*outcome_, ProbeOutcomeName(*outcome_)));
  }
  void Cancel() override {}

 private:
  const ProbeOutcome* outcome_;
};

// A command-like supervisor (the pid comes from the pidfile): restarts
// are recorded and answered by the test; a call whose handle is gone (its
// service stopped) is never answered.
class FakeSupervisor : public Supervisor {
 public:
  struct Call : SupervisorCall {
    ~Call() override { *live = false; }
    std::shared_ptr<bool> live = std::make_shared<bool>(true);
  };

  std::unique_ptr<SupervisorCall> Restart(const ProgramRef&,
                                          Done done) override {
    ++restarts;
    return Track(std::move(done));
  }
  std::unique_ptr<SupervisorCall> Start(const ProgramRef&, Done done) override {
    return Track(std::move(done));
  }
  std::unique_ptr<SupervisorCall> Recover(const ProgramRef&,
                                          Done done) override {
    return Track(std::move(done));
  }
  std::unique_ptr<SupervisorCall> GetStatusReply(const ProgramRef&,
                                                 StatusReplyDone) override {
    return std::make_unique<Call>();
  }
  bool reports_pid() const override { return false; }

  bool busy() const { return !pending.empty(); }
  // Ends every call in flight as done.
  void FinishAll() {
    while (!pending.empty()) {
      auto [live, done] = std::move(pending.front());
      pending.pop_front();
      if (*live) done(Status::Ok());
    }
  }

  int restarts = 0;

 private:
  std::unique_ptr<SupervisorCall> Track(Done done) {
    auto call = std::make_unique<Call>();
    pending.emplace_back(call->live, std::move(done));
    return call;
  }
  std::deque<std::pair<std::shared_ptr<bool>, Done>> pending;
};

struct Events : ServiceObserver, CheckObserver {
  void OnServiceStateChange(const Service&, ServiceState, ServiceState to,
                            const std::string&) override {
    states.push_back(to);
  }
  void OnRestart(const Service&, const std::string&,
                 const std::string&) override {}
  void OnRestartDone(const Service&, const Status&) override {}
  void OnEscalation(const Service&, const ProcessIdentity&, int,
                    const Status&) override {}
  void OnResidentMemory(const Service&, uint64_t) override {}
  void OnNotice(const Service&, const std::string& text) override {
    notices.push_back(text);
  }
  // The check's reporter.
  void OnProbeDone(const Check&, const ProbeResult&, Duration,
                   Duration) override {}
  void OnStateChange(const Check&, CheckState from, CheckState to) override {
    check_changes.emplace_back(from, to);
  }

  bool Noticed(const std::string& part) const {
    for (const std::string& n : notices) {
      if (n.find(part) != std::string::npos) return true;
    }
    return false;
  }

  std::vector<ServiceState> states;
  std::vector<std::string> notices;
  std::vector<std::pair<CheckState, CheckState>> check_changes;
};

class ServiceStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    pid_ = table_.Spawn(1, 0, "web");
    table_.WritePidfile(kPidfile, std::to_string(pid_) + "\n");
  }

  ServiceConfig Config() {
    ServiceConfig c;
    c.name = "web";
    c.program = "web";
    c.supervisor = "main";
    c.pidfile = kPidfile;
    c.start_grace = seconds(30);
    c.stop_timeout = seconds(30);
    c.restart_limit = {3, minutes(10), RestartLimitAction::kUnmonitor};
    c.restart_backoff = {seconds(1), seconds(8)};
    return c;
  }

  CheckConfig HealthCheck() {
    CheckConfig c;
    c.name = "health";
    c.probe = ExecProbeConfig{{"/bin/true"}, {}};
    c.interval = milliseconds(500);
    c.timeout = milliseconds(400);
    c.jitter = 0;
    c.failures = 2;
    c.on_failure = OnFailure::kRestart;
    return c;
  }

  // One watchd's service; `events` hears both it and its check.
  std::unique_ptr<Service> Make(Events* events,
                                ServiceConfig config = ServiceConfig()) {
    if (config.name.empty()) config = Config();
    auto s = std::make_unique<Service>(config, &sup_, &loop_, &random_, events,
                                       &table_);
    s->AddCheck(HealthCheck(), std::make_unique<SwitchProbe>(&outcome_),
                events);
    return s;
  }

  void Advance(Duration d) {
    for (Duration done{0}; done < d; done += milliseconds(50)) {
      clock_.Advance(milliseconds(50));
      loop_.RunOnce(Duration::zero());
    }
  }
  // The supervisor's restart: the old process goes, a new one comes.
  void ReplaceProcess() {
    table_.Exit(pid_);
    pid_ = table_.Spawn(1, 0, "web");
    table_.WritePidfile(kPidfile, std::to_string(pid_) + "\n");
  }
  // Answers the supervisor's calls as they come (restarts that work).
  void AdvanceFinishing(Duration d) {
    for (Duration done{0}; done < d; done += milliseconds(50)) {
      Advance(milliseconds(50));
      if (sup_.busy()) {
        ReplaceProcess();
        sup_.FinishAll();
      }
    }
  }

  ClockReading Clocks() {
    return {loop_.Now(),
            WallTime(std::chrono::nanoseconds(table_.WallClockNs()))};
  }

  // The saved state as the state file carries it: through its JSON.
  SavedService ThroughFile(const SavedService& saved) {
    SavedState state;
    state.services["web"] = saved;
    auto back = ParseState(SerializeState(state));
    EXPECT_TRUE(back.ok()) << back.status().message();
    return back.ok() ? back->services["web"] : SavedService{};
  }

  // A watchd that ran the service until now, saved and was killed.
  SavedService RunAndSave(const std::function<void(Service&)>& run = nullptr) {
    Events events;
    auto first = Make(&events);
    first->Start();
    Advance(seconds(1));
    if (run) run(*first);
    SavedService saved = ThroughFile(first->SaveState(Clocks(), kBoot));
    first.reset();
    return saved;
  }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  FakeProcessTable table_{&clock_};
  Random random_{7};
  FakeSupervisor sup_;
  ProbeOutcome outcome_ = ProbeOutcome::kSuccess;
  pid_t pid_ = 0;
};

TEST_F(ServiceStateTest, SavesTheRecordedProcessWithTheBoot) {
  SavedService saved = RunAndSave();
  ASSERT_TRUE(saved.process.has_value());
  EXPECT_EQ(saved.process->pid, pid_);
  EXPECT_EQ(saved.process->start_time, table_.IdentityOf(pid_).start_time);
  EXPECT_EQ(saved.process->boot_id, kBoot);
  EXPECT_FALSE(saved.paused);
  EXPECT_EQ(saved.checks.at("health").state, SavedCheckState::kPassing);

  // No boot id (it could not be read): no process is kept.
  Events events;
  auto svc = Make(&events);
  svc->Start();
  Advance(seconds(1));
  EXPECT_FALSE(svc->SaveState(Clocks(), "").process.has_value());
}

// The process that ran before watchd was killed still runs: no
// start_grace, no "new process".
TEST_F(ServiceStateTest, TheSameProcessIsNoNewProcess) {
  SavedService saved = RunAndSave();
  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kBoot);
  svc->Start();
  Advance(seconds(1));
  ASSERT_TRUE(svc->process().has_value());
  EXPECT_EQ(svc->process()->pid, pid_);
  EXPECT_FALSE(events.Noticed("new process")) << events.notices[0];
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  for (ServiceState s : events.states) EXPECT_NE(s, ServiceState::kStarting);
}

// Replaced while watchd was down (the supervisor respawned it): new, with
// its grace, as when it is replaced under a running watchd.
TEST_F(ServiceStateTest, AReplacedProcessIsNewWithItsGrace) {
  SavedService saved = RunAndSave();
  const pid_t before = pid_;
  ReplaceProcess();
  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kBoot);
  svc->Start();
  Advance(seconds(1));
  EXPECT_TRUE(events.Noticed("new process pid " + std::to_string(pid_) +
                             " (was " + std::to_string(before) + ")"));
  EXPECT_EQ(svc->state(), ServiceState::kStarting);
}

// A pid and start time of another boot name nothing: the process found is
// taken as at any start of watchd, without a record.
TEST_F(ServiceStateTest, ARecordOfAnotherBootIsDropped) {
  SavedService saved = RunAndSave();
  ReplaceProcess();
  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kOtherBoot);
  svc->Start();
  Advance(seconds(1));
  EXPECT_FALSE(events.Noticed("new process"));
  EXPECT_EQ(svc->state(), ServiceState::kOk);
  ASSERT_TRUE(svc->process().has_value());
  EXPECT_EQ(svc->process()->pid, pid_);
}

TEST_F(ServiceStateTest, PausedStaysPausedUntilResumed) {
  SavedService saved = RunAndSave([](Service& s) { s.Pause(); });
  EXPECT_TRUE(saved.paused);
  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kBoot);
  svc->Start();
  Advance(seconds(1));
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored);
  EXPECT_EQ(svc->reason(), "paused by operator");
  svc->Resume();
  Advance(seconds(1));
  EXPECT_EQ(svc->state(), ServiceState::kOk);
}

// Two restarts before the kill count toward the limit of three after it:
// the third makes it, and the fourth never happens.
TEST_F(ServiceStateTest, RestartsBeforeTheKillCountTowardTheLimit) {
  SavedService saved = RunAndSave([this](Service& s) {
    outcome_ = ProbeOutcome::kFailure;
    for (int i = 0; i < 600 && s.restarts() < 2; ++i) {
      AdvanceFinishing(milliseconds(100));
    }
    outcome_ = ProbeOutcome::kSuccess;
    AdvanceFinishing(seconds(35));  // past start_grace, healthy again
    EXPECT_EQ(s.restarts(), 2);
    EXPECT_EQ(s.state(), ServiceState::kOk);
  });
  EXPECT_EQ(saved.restarts.size(), 2u);
  EXPECT_EQ(saved.consecutive_restarts, 2);

  sup_.restarts = 0;
  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kBoot);
  EXPECT_EQ(svc->restart_info().recent, 2);
  svc->Start();
  outcome_ = ProbeOutcome::kFailure;
  for (int i = 0; i < 1200 && svc->state() != ServiceState::kUnmonitored; ++i) {
    AdvanceFinishing(milliseconds(100));
  }
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored);
  EXPECT_EQ(sup_.restarts, 1);
  EXPECT_NE(svc->reason().find("restart limit reached"), std::string::npos);

  // And the limit reached is kept in turn.
  SavedService again = ThroughFile(svc->SaveState(Clocks(), kBoot));
  EXPECT_TRUE(again.limit_reached);
  EXPECT_EQ(again.restarts.size(), 3u);
}

// The window counts the time watchd was down: restarts from 9 minutes ago
// leave a 10-minute window a minute after watchd's restart, even though
// the new watchd's monotonic clock starts elsewhere.
TEST_F(ServiceStateTest, TheWindowCountsTheTimeWatchdWasDown) {
  SavedService saved;
  const WallTime wall_now(std::chrono::nanoseconds(table_.WallClockNs()));
  const WallTime nine_ago =
      std::chrono::floor<milliseconds>(wall_now - minutes(9));
  saved.restarts = {nine_ago, nine_ago, nine_ago};
  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kBoot);
  svc->Start();
  outcome_ = ProbeOutcome::kFailure;
  AdvanceFinishing(seconds(5));
  EXPECT_EQ(sup_.restarts, 0) << "three restarts within the window";
  EXPECT_EQ(svc->state(), ServiceState::kUnmonitored);
  svc.reset();

  Events later;
  auto next = Make(&later);
  next->RestoreState(saved, Clocks(), kBoot);
  Advance(minutes(1) + seconds(1));
  next->Start();
  AdvanceFinishing(seconds(5));
  EXPECT_EQ(sup_.restarts, 1) << "the window has passed them";
}

// A check's verdict comes back, is told to its reporter, and the service
// is judged on it; it turns hung only on a run that fails anew.
TEST_F(ServiceStateTest, CheckVerdictsComeBackAndAreReported) {
  SavedService saved = RunAndSave([this](Service& s) {
    s.Pause();  // no restart: the check's verdict alone
    outcome_ = ProbeOutcome::kFailure;
    Advance(milliseconds(1500));
  });
  ASSERT_EQ(saved.checks.at("health").state, SavedCheckState::kFailing);
  EXPECT_GE(saved.checks.at("health").consecutive_failures, 2);
  saved.paused = false;
  sup_.restarts = 0;

  Events events;
  auto svc = Make(&events);
  svc->RestoreState(saved, Clocks(), kBoot);
  EXPECT_EQ(svc->checks()[0]->state(), CheckState::kFailing);
  EXPECT_EQ(svc->checks()[0]->consecutive_failures(),
            saved.checks.at("health").consecutive_failures);
  ASSERT_EQ(events.check_changes.size(), 1u);
  EXPECT_EQ(events.check_changes[0],
            std::make_pair(CheckState::kPending, CheckState::kFailing));
  svc->Start();
  EXPECT_EQ(svc->state(), ServiceState::kFailing) << "no run yet";
  EXPECT_EQ(sup_.restarts, 0);
  AdvanceFinishing(seconds(1));
  EXPECT_EQ(sup_.restarts, 1) << "hung on its first failed run";
}

TEST_F(ServiceStateTest, ChangesWorthSavingAreTold) {
  Events events;
  auto svc = Make(&events);
  int changes = 0;
  svc->set_on_persistent_change([&] { ++changes; });
  svc->Start();
  Advance(seconds(1));
  // The first look recorded the process; the check's first verdict.
  EXPECT_GE(changes, 2);

  changes = 0;
  Advance(seconds(5));  // runs that pass again: counters only
  EXPECT_EQ(changes, 0);

  svc->Pause();
  EXPECT_GE(changes, 1);
  changes = 0;
  svc->Resume();
  EXPECT_GE(changes, 1);

  changes = 0;
  ReplaceProcess();
  svc->Lookup(nullptr);  // as a process check's run would
  Advance(milliseconds(100));
  EXPECT_GE(changes, 1) << "a new process recorded";

  changes = 0;
  outcome_ = ProbeOutcome::kFailure;
  AdvanceFinishing(seconds(40));
  EXPECT_GE(changes, 1) << "a verdict, a restart ended";
}

}  // namespace
}  // namespace watchd
