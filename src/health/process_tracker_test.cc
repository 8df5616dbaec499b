#include "health/process_tracker.h"

#include <gtest/gtest.h>

#include <map>

#include "config/config.h"
#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "os/process_table.h"

namespace watchd {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using Presence = ProcessLookup::Presence;

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kTicks = 100;  // USER_HZ

// Processes and pidfiles as a test sets them; boot happened at wall-clock
// second 1,000,000 until the test steps the clock.
class TableForTest : public ProcessTable {
 public:
  struct Proc {
    ProcStat stat;
    ProcessUids uids;
  };

  // A process started `at_ns` (wall clock) running as `uid`.
  void AddProcess(pid_t pid, int64_t at_ns, uint32_t uid = 0, pid_t ppid = 1) {
    Proc p;
    p.stat.pid = pid;
    p.stat.ppid = ppid;
    p.stat.state = 'S';
    p.stat.start_time =
        static_cast<uint64_t>((at_ns - boot_wall_ns) * kTicks / kSecond);
    p.uids = {uid, uid};
    procs[pid] = p;
  }
  void WritePidfile(const std::string& path, pid_t pid, int64_t mtime_ns,
                    uid_t owner = 0, std::string untrusted = "") {
    PidfileContents c;
    c.pid = pid;
    c.stamp.ino = ++inode_;
    c.stamp.mtime_ns = c.stamp.ctime_ns = mtime_ns;
    c.owner = owner;
    c.untrusted = std::move(untrusted);
    files[path] = c;
  }

  Result<ProcStat> Stat(pid_t pid) override {
    ++stats;
    auto it = procs.find(pid);
    if (it == procs.end()) return Status::Error("gone");
    return it->second.stat;
  }
  Result<ProcessUids> Uids(pid_t pid) override {
    auto it = procs.find(pid);
    if (it == procs.end()) return Status::Error("gone");
    return it->second.uids;
  }
  std::vector<pid_t> Descendants(pid_t) override { return {}; }
  Result<FileStamp> Stamp(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return Status::Error("missing");
    return it->second.stamp;
  }
  Result<PidfileContents> ReadPidfile(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) {
      return Status::Error("cannot read pidfile " + path + ": missing");
    }
    return it->second;
  }
  Status Signal(const ProcessIdentity&, int) override {
    ADD_FAILURE() << "the tracker never signals";
    return Status::Ok();
  }
  int64_t WallClockNs() override { return wall_ns; }
  int64_t BootWallClockNs() override { return boot_wall_ns; }
  int64_t TicksPerSecond() override { return kTicks; }
  bool IsProtected(pid_t pid) override { return pid <= 1 || pid == 99; }

  // The wall clock is stepped: boot time, as it reads, moves with it.
  void StepWallClock(int64_t ns) {
    wall_ns += ns;
    boot_wall_ns += ns;
  }

  std::map<pid_t, Proc> procs;
  std::map<std::string, PidfileContents> files;
  int64_t boot_wall_ns = 1000000 * kSecond;
  int64_t wall_ns = 2000000 * kSecond;
  int stats = 0;

 private:
  uint64_t inode_ = 0;
};

struct Looks : ProcessTracker::Listener {
  void OnLook(const ProcessLookup& look, Presence,
              const std::optional<ProcessIdentity>&) override {
    seen.push_back(look);
  }
  std::vector<ProcessLookup> seen;
};

class ProcessTrackerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(loop_.Init().ok());
    config_.name = config_.program = "web";
    config_.pidfile = "/run/web.pid";
  }

  // Asks once and runs the loop until answered.
  ProcessLookup Ask(ProcessTracker& tracker) {
    std::optional<ProcessLookup> out;
    tracker.Lookup([&](const ProcessLookup& l) { out = l; });
    EXPECT_FALSE(out.has_value()) << "answered inside Lookup";
    for (int i = 0; i < 3 && !out; ++i) {
      clock_.Advance(milliseconds(1));
      loop_.RunOnce(Duration::zero());
    }
    EXPECT_TRUE(out.has_value());
    return out.value_or(ProcessLookup{});
  }

  int64_t Now() const { return table_.wall_ns; }

  FakeClock clock_;
  EventLoop loop_{&clock_};
  TableForTest table_;
  Looks looks_;
  ServiceConfig config_;
};

TEST_F(ProcessTrackerTest, LookupsQueuedTogetherShareOneLookFromTheLoop) {
  table_.AddProcess(42, Now() - 10 * kSecond);
  table_.WritePidfile("/run/web.pid", 42, Now() - 9 * kSecond);
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  std::vector<Presence> answers;
  for (int i = 0; i < 3; ++i) {
    tracker.Lookup(
        [&](const ProcessLookup& l) { answers.push_back(l.presence); });
  }
  // A lookup cancelled before the look is not answered.
  auto cancelled = tracker.Lookup([&](const ProcessLookup&) {
    ADD_FAILURE() << "cancelled lookup answered";
  });
  tracker.CancelLookup(cancelled);
  EXPECT_TRUE(answers.empty());
  loop_.RunOnce(Duration::zero());
  EXPECT_EQ(answers, std::vector<Presence>(3, Presence::kFound));
  EXPECT_EQ(looks_.seen.size(), 1u);
  EXPECT_EQ(table_.stats, 1) << "one look at /proc for all three";
  ASSERT_TRUE(tracker.identity().has_value());
  EXPECT_EQ(tracker.identity()->pid, 42);
}

// A callback that queues another lookup gets it answered by a new look.
TEST_F(ProcessTrackerTest, LookupFromInsideAnAnswerWaitsForTheNextLook) {
  table_.AddProcess(42, Now() - 10 * kSecond);
  table_.WritePidfile("/run/web.pid", 42, Now() - 9 * kSecond);
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  size_t second_look = 0;
  tracker.Lookup([&](const ProcessLookup&) {
    tracker.Lookup(
        [&](const ProcessLookup&) { second_look = looks_.seen.size(); });
  });
  for (int i = 0; i < 3 && second_look == 0; ++i) {
    clock_.Advance(milliseconds(1));
    loop_.RunOnce(Duration::zero());
  }
  EXPECT_EQ(second_look, 2u) << "answered by a look of its own";
}

TEST_F(ProcessTrackerTest, UntrustedPidfileNamesOnlyItsOwnersProcesses) {
  // Written by the service's user (nobody) and naming a root process.
  table_.AddProcess(42, Now() - 10 * kSecond, /*uid=*/0);
  table_.WritePidfile("/run/web.pid", 42, Now() - kSecond, 65534,
                      "it is owned by uid 65534");
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  ProcessLookup l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kUntrusted);
  EXPECT_EQ(l.reason,
            "untrusted pidfile /run/web.pid: it is owned by uid 65534, and "
            "pid 42 runs as uid 0, not as its owner (uid 65534)");
  EXPECT_FALSE(tracker.identity().has_value()) << "nothing recorded";

  // Naming a process of its own user, it is believed.
  table_.AddProcess(43, Now() - 10 * kSecond, /*uid=*/65534);
  table_.WritePidfile("/run/web.pid", 43, Now() - kSecond, 65534,
                      "it is owned by uid 65534");
  l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kFound) << l.reason;
  EXPECT_EQ(l.found.identity.pid, 43);

  // A process that changed only its effective uid to the owner's is not.
  table_.procs[43].uids = {0, 65534};
  table_.files["/run/web.pid"].stamp.ino += 100;
  l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kUntrusted) << l.reason;

  // A root-owned pidfile in a safe place is trusted for any process.
  table_.WritePidfile("/run/web.pid", 42, Now() - kSecond, 0);
  EXPECT_EQ(Ask(tracker).presence, Presence::kFound);
}

TEST_F(ProcessTrackerTest, PidOneAndWatchdItselfAreNeverTheService) {
  table_.AddProcess(1, table_.boot_wall_ns);
  table_.WritePidfile("/run/web.pid", 1, Now() - kSecond, 0);
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  ProcessLookup l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kUntrusted);
  EXPECT_EQ(l.reason,
            "pidfile /run/web.pid names pid 1, which is never a service's "
            "process");
  table_.AddProcess(99, Now() - 5 * kSecond);
  table_.WritePidfile("/run/web.pid", 99, Now() - kSecond, 0);
  EXPECT_EQ(Ask(tracker).presence, Presence::kUntrusted);
}

TEST_F(ProcessTrackerTest, RecycledPidIsSeenWithinAFewTicks) {
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  const int64_t written = Now() - 10 * kSecond;
  // Started 30 ms after the pidfile's time: the coarse clocks of file
  // times and start ticks allow that much.
  table_.AddProcess(42, written + 30 * kSecond / 1000);
  table_.WritePidfile("/run/web.pid", 42, written);
  EXPECT_EQ(Ask(tracker).presence, Presence::kFound);
  // 200 ms after: another process took the pid.
  table_.procs.clear();
  table_.AddProcess(42, written + 200 * kSecond / 1000);
  table_.files["/run/web.pid"].stamp.ino += 100;
  ProcessLookup l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kAbsent);
  EXPECT_NE(l.reason.find("recycled pid"), std::string::npos) << l.reason;
}

// The wall clock stepped an hour back or forward while watchd runs: boot
// time as the wall clock reads it moves with it, and neither a pidfile
// written before the step nor one written after it looks older than its
// process.
TEST_F(ProcessTrackerTest, ClockStepsNeverMakeAPidfileLookRecycled) {
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  table_.AddProcess(42, Now() - 5 * kSecond);
  table_.WritePidfile("/run/web.pid", 42, Now() - 4 * kSecond);
  ASSERT_EQ(Ask(tracker).presence, Presence::kFound);

  table_.StepWallClock(hours(1).count());
  table_.files["/run/web.pid"].stamp.ino += 100;  // read it again
  EXPECT_EQ(Ask(tracker).presence, Presence::kFound) << "stepped forward";

  table_.StepWallClock(-2 * hours(1).count());
  // A new process and pidfile, written in the stepped-back clock.
  table_.AddProcess(43, Now() - 2 * kSecond);
  table_.WritePidfile("/run/web.pid", 43, Now() - kSecond);
  ProcessLookup l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kFound) << l.reason;
  EXPECT_EQ(l.found.identity.pid, 43);
}

TEST_F(ProcessTrackerTest, FailuresToReadThePidfileMeanNoProcess) {
  ProcessTracker tracker(config_, nullptr, &loop_, &table_, &looks_);
  ProcessLookup l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kAbsent);
  EXPECT_EQ(l.reason, "cannot read pidfile /run/web.pid: missing");
  table_.WritePidfile("/run/web.pid", 4242, Now() - kSecond);
  l = Ask(tracker);
  EXPECT_EQ(l.presence, Presence::kAbsent);
  EXPECT_EQ(l.reason, "pid 4242 from /run/web.pid is not running");
  EXPECT_EQ(tracker.absent_since(), loop_.Now() - milliseconds(1))
      << "absent since the first look that said so";
}

}  // namespace
}  // namespace watchd
