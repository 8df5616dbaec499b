#include "probes/process_probe.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "probes/memory_probe.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::seconds;

// Answers every lookup with a fixed answer, at once (which real sources
// never do; the probe copes either way); a bare identity leaves the stat to
// the probe.
class FixedSource : public ProcessSource {
 public:
  explicit FixedSource(ProcessLookup answer) : answer_(std::move(answer)) {}
  explicit FixedSource(FoundProcess found)
      : answer_{ProcessLookup::Presence::kFound, std::move(found), ""} {}
  explicit FixedSource(ProcessIdentity identity)
      : FixedSource(FoundProcess{identity, std::nullopt}) {}
  LookupId Lookup(Callback cb) override {
    cb(answer_);
    return ++lookups_;
  }
  void CancelLookup(LookupId) override {}
  LookupId lookups_ = 0;

 private:
  ProcessLookup answer_;
};

// Holds every lookup until Answer(); counts cancellations.
class DeferredSource : public ProcessSource {
 public:
  LookupId Lookup(Callback cb) override {
    pending_ = std::move(cb);
    return 7;
  }
  void CancelLookup(LookupId id) override {
    EXPECT_EQ(id, 7u);
    pending_ = nullptr;
    ++cancels;
  }
  Callback pending_;
  int cancels = 0;
};

// What a process that touched `megabytes` shows at least: the kernel
// batches RSS counting per thread (up to 64 pages before it syncs), so a
// process asleep since may show less than it touched (seen: 0.1 MiB
// less, 1.1 MiB under ASan). The thresholds tested are far from it.
uint64_t MinRss(int megabytes) {
  return (static_cast<uint64_t>(megabytes) << 20) - (4ull << 20);
}

class Child {
 public:
  // A process of `megabytes` touched resident memory that then sleeps.
  // It says when it has touched all of it: waiting on RSS alone can pass
  // early, since RSS also counts the pages the child shares with this
  // process after fork.
  explicit Child(int megabytes = 0) {
    int ready[2];
    EXPECT_EQ(pipe(ready), 0);
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      std::vector<char> mem(static_cast<size_t>(megabytes) << 20, 1);
      for (size_t i = 0; i < mem.size(); i += 4096) mem[i] = 2;
      char byte = 1;
      if (write(ready[1], &byte, 1) != 1) _exit(1);
      pause();
      _exit(0);
    }
    close(ready[1]);
    char byte = 0;
    EXPECT_EQ(read(ready[0], &byte, 1), 1);
    close(ready[0]);
    testing::WaitFor(
        [&] {
          auto rss = ReadRssBytes(pid_);
          return rss.ok() && *rss >= MinRss(megabytes);
        },
        seconds(10));
  }
  ~Child() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ProcessIdentity identity() const {
    return {pid_, ReadProcStat(pid_)->start_time};
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

ProbeResult RunOnce(Probe& probe) {
  ProbeResult out;
  bool done = false;
  probe.Start(seconds(1), [&](ProbeResult r) {
    out = std::move(r);
    done = true;
  });
  EXPECT_TRUE(done);
  return out;
}

TEST(ProcessProbeTest, LiveProcessPassesWithStateAndMemory) {
  Child child;
  ASSERT_TRUE(testing::WaitFor(
      [&] { return ReadProcStat(child.pid())->state == 'S'; }, seconds(10)))
      << "the child sleeps in pause()";
  FixedSource source(child.identity());
  ProcessProbe probe(&source);
  ProbeResult r = RunOnce(probe);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_NE(r.reason.find("pid " + std::to_string(child.pid())),
            std::string::npos);
  EXPECT_NE(r.reason.find("sleeping"), std::string::npos) << r.reason;
  ASSERT_TRUE(r.resident_memory_bytes.has_value());
  EXPECT_GT(*r.resident_memory_bytes, 0u);
}

TEST(ProcessProbeTest, StoppedProcessIsStillAlive) {
  Child child;
  kill(child.pid(), SIGSTOP);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return ReadProcStat(child.pid())->state == 'T'; }, seconds(10)));
  FixedSource source(child.identity());
  ProcessProbe probe(&source);
  ProbeResult r = RunOnce(probe);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_NE(r.reason.find("stopped"), std::string::npos) << r.reason;
}

TEST(ProcessProbeTest, RecycledPidAndZombieAndMissingFail) {
  Child child;
  ProcessIdentity stale = child.identity();
  stale.start_time -= 1;
  FixedSource recycled(stale);
  ProcessProbe p1(&recycled);
  ProbeResult r = RunOnce(p1);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_NE(r.reason.find("recycled"), std::string::npos) << r.reason;

  FixedSource missing(ProcessLookup{
      ProcessLookup::Presence::kAbsent, {}, "pidfile /run/x.pid is missing"});
  ProcessProbe p2(&missing);
  r = RunOnce(p2);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "pidfile /run/x.pid is missing");

  // Not knowing is not failing: the run is an error, not a failure.
  FixedSource unknown(ProcessLookup{ProcessLookup::Presence::kUnknown,
                                    {},
                                    "supervisor unreachable: refused"});
  ProcessProbe unknown_probe(&unknown);
  r = RunOnce(unknown_probe);
  EXPECT_EQ(r.outcome, ProbeOutcome::kError);
  EXPECT_EQ(r.reason, "supervisor unreachable: refused");
  EXPECT_EQ(unknown_probe.TimedOut(seconds(2)).outcome, ProbeOutcome::kError);

  pid_t z = fork();
  if (z == 0) _exit(0);
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, z, &info, WEXITED | WNOWAIT), 0);
  FixedSource zombie(ProcessIdentity{z, ReadProcStat(z)->start_time});
  ProcessProbe p3(&zombie);
  r = RunOnce(p3);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_NE(r.reason.find("zombie"), std::string::npos) << r.reason;
  waitpid(z, nullptr, 0);
}

// A stat the lookup already read is used as it is: no second read.
TEST(ProcessProbeTest, UsesTheStatTheLookupRead) {
  Child child;
  ProcStat st = *ReadProcStat(child.pid());
  st.state = 'T';
  st.rss_bytes = 12345;
  FixedSource source(FoundProcess{child.identity(), st});
  ProcessProbe probe(&source);
  ProbeResult r = RunOnce(probe);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_NE(r.reason.find("stopped"), std::string::npos) << r.reason;
  EXPECT_EQ(r.resident_memory_bytes, 12345u);

  MemoryProbe memory({1ull << 40, false}, &source);
  r = RunOnce(memory);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  EXPECT_EQ(r.resident_memory_bytes, 12345u);
}

// The safety checks still hold on a stat handed over by the lookup.
TEST(ProcessProbeTest, HandedOverStatOfAZombieOrAnotherProcessFails) {
  Child child;
  ProcStat st = *ReadProcStat(child.pid());
  st.state = 'Z';
  FixedSource zombie(FoundProcess{child.identity(), st});
  ProcessProbe p1(&zombie);
  ProbeResult r = RunOnce(p1);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_NE(r.reason.find("zombie"), std::string::npos) << r.reason;
  MemoryProbe m1({1ull << 40, false}, &zombie);
  EXPECT_EQ(RunOnce(m1).outcome, ProbeOutcome::kFailure);

  st.state = 'S';
  st.start_time += 1;
  FixedSource other(FoundProcess{child.identity(), st});
  ProcessProbe p2(&other);
  r = RunOnce(p2);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_NE(r.reason.find("recycled"), std::string::npos) << r.reason;
  MemoryProbe m2({1ull << 40, false}, &other);
  EXPECT_EQ(RunOnce(m2).outcome, ProbeOutcome::kFailure);
}

TEST(ProcessProbeTest, CancelDropsAPendingLookup) {
  DeferredSource source;
  ProcessProbe probe(&source);
  bool called = false;
  probe.Start(seconds(1), [&](ProbeResult) { called = true; });
  probe.Cancel();
  EXPECT_EQ(source.cancels, 1);
  EXPECT_FALSE(called);
}

TEST(MemoryProbeTest, ThresholdOnOwnAndChildrenMemory) {
  Child big(48);
  MemoryProbeConfig below{256ull << 20, false};
  MemoryProbeConfig above{16ull << 20, false};
  FixedSource source(big.identity());
  MemoryProbe ok(below, &source);
  ProbeResult r = RunOnce(ok);
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess) << r.reason;
  ASSERT_TRUE(r.resident_memory_bytes.has_value());
  EXPECT_GE(*r.resident_memory_bytes, MinRss(48));
  MemoryProbe over(above, &source);
  r = RunOnce(over);
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_NE(r.reason.find("exceeds 16.0MiB"), std::string::npos) << r.reason;
}

TEST(MemoryProbeTest, IncludeChildrenAddsDescendants) {
  // This test process is the parent of a 48 MiB child.
  Child big(48);
  ProcessIdentity self{getpid(), ReadProcStat(getpid())->start_time};
  FixedSource source(self);
  MemoryProbe alone({1ull << 40, false}, &source);
  MemoryProbe family({1ull << 40, true}, &source);
  uint64_t own = *RunOnce(alone).resident_memory_bytes;
  uint64_t all = *RunOnce(family).resident_memory_bytes;
  EXPECT_GE(all, own + (40ull << 20));
}

TEST(FormatBytesTest, BinaryUnits) {
  EXPECT_EQ(FormatBytes(512), "512B");
  EXPECT_EQ(FormatBytes(1536), "1.5KiB");
  EXPECT_EQ(FormatBytes(512ull << 20), "512.0MiB");
}

}  // namespace
}  // namespace watchd
