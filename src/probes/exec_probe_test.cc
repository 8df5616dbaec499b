#include "probes/exec_probe.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/event_loop.h"
#include "tests/support/loop_wait.h"
#include "tests/support/probe_reentry.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class ExecProbeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  template <typename Cond>
  bool RunUntil(Cond cond, Duration limit = seconds(60)) {
    TimePoint deadline = loop_.Now() + limit;
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  ProbeResult Probe(std::vector<std::string> argv,
                    Duration timeout = seconds(30)) {
    ExecProbe probe(ExecProbeConfig{std::move(argv)}, &loop_);
    std::optional<ProbeResult> result;
    probe.Start(timeout, [&](ProbeResult r) { result = std::move(r); });
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); }));
    return result.value_or(ProbeResult::Error("no result"));
  }

  // A shell that records its pid in `pidfile`, then sleeps.
  std::vector<std::string> Sleeper(const std::string& pidfile) {
    return {"sh", "-c",
            "echo $$ > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"; exec sleep 1000",
            pidfile};
  }

  testing::SteppedClock clock_;
  EventLoop loop_{&clock_};
  testing::TempDir dir_;
};

TEST_F(ExecProbeTest, ExitZeroIsSuccess) {
  ProbeResult r = Probe({"/bin/true"});
  EXPECT_EQ(r.outcome, ProbeOutcome::kSuccess);
  EXPECT_EQ(r.reason, "exit 0");
}

TEST_F(ExecProbeTest, NonZeroExitIsFailureWithTheFirstLineOfOutput) {
  ProbeResult r = Probe(
      {"sh", "-c", "echo; echo '  disk almost full  '; echo more; exit 3"});
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "exit 3: disk almost full");

  r = Probe({"/bin/false"});
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "exit 1");
}

TEST_F(ExecProbeTest, LongFirstLineIsCut) {
  ProbeResult r = Probe({"sh", "-c", "printf '%0200d\\n' 0 >&2; exit 2"});
  EXPECT_EQ(r.reason, "exit 2: " + std::string(80, '0') + "...");
}

TEST_F(ExecProbeTest, KilledBySignalIsFailure) {
  ProbeResult r = Probe({"sh", "-c", "kill -9 $$"});
  EXPECT_EQ(r.outcome, ProbeOutcome::kFailure);
  EXPECT_EQ(r.reason, "killed by signal 9");
}

TEST_F(ExecProbeTest, ExecFailureIsAnError) {
  ProbeResult r = Probe({"/no/such/check"});
  EXPECT_EQ(r.outcome, ProbeOutcome::kError);
  EXPECT_EQ(r.reason, "exec /no/such/check: No such file or directory");
}

TEST_F(ExecProbeTest, RunsAgainFromItsOwnCallback) {
  ExecProbe probe(ExecProbeConfig{{"sh", "-c", "echo run; exit 4"}}, &loop_);
  std::vector<ProbeResult> results;
  std::function<void(ProbeResult)> again = [&](ProbeResult r) {
    results.push_back(std::move(r));
    if (results.size() < 3) probe.Start(seconds(30), again);
  };
  probe.Start(seconds(30), again);
  ASSERT_TRUE(RunUntil([&] { return results.size() == 3; }));
  for (const ProbeResult& r : results) EXPECT_EQ(r.reason, "exit 4: run");
}

TEST_F(ExecProbeTest, CancelKillsAndReapsTheChild) {
  std::string pidfile = dir_.File("pid");
  ExecProbe probe(ExecProbeConfig{Sleeper(pidfile)}, &loop_);
  bool called = false;
  probe.Start(seconds(30), [&](ProbeResult) { called = true; });
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; }));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  probe.Cancel();
  std::string proc = "/proc/" + std::to_string(pid);
  // The loop runs while the child dies: a run still watched would see its
  // exit, and after the jump its backstop; both are handled once the loop
  // has run past them.
  EXPECT_TRUE(
      RunUntil([&] { return access(proc.c_str(), F_OK) != 0; }, seconds(10)));
  clock_.Advance(seconds(60));
  ASSERT_TRUE(testing::RunLoopPastPending(loop_));
  EXPECT_FALSE(called);
  probe.Cancel();  // idle: a no-op
}

TEST_F(ExecProbeTest, DestructionKillsAndReapsTheChild) {
  std::string pidfile = dir_.File("pid");
  auto probe =
      std::make_unique<ExecProbe>(ExecProbeConfig{Sleeper(pidfile)}, &loop_);
  probe->Start(seconds(30), [](ProbeResult) {});
  ASSERT_TRUE(RunUntil([&] { return access(pidfile.c_str(), F_OK) == 0; }));
  pid_t pid = std::stoi(testing::ReadFile(pidfile));
  probe.reset();
  std::string proc = "/proc/" + std::to_string(pid);
  EXPECT_TRUE(testing::WaitFor([&] { return access(proc.c_str(), F_OK) != 0; },
                               milliseconds(10000)));
}

TEST_F(ExecProbeTest, BackstopTimesOutAChildNobodyCancelled) {
  // The Check should have cancelled at 100ms; the probe's backstop ends the
  // run a few seconds later anyway.
  ProbeResult r = Probe({"sleep", "1000"}, milliseconds(100));
  EXPECT_EQ(r.outcome, ProbeOutcome::kTimeout);
  EXPECT_NE(r.reason.find("timed out after"), std::string::npos) << r.reason;
}

// As a Check does: each `done` cancels the probe (a no-op by then) and
// starts its next run at once, the last one destroys it (and with it the
// child whose exit is being reported).
TEST_F(ExecProbeTest, DoneMayCancelRestartAndDestroyTheProbe) {
  std::vector<ProbeResult> results = testing::RunRestartingFromDone(
      std::make_unique<ExecProbe>(
          ExecProbeConfig{{"sh", "-c", "echo run; exit 4"}}, &loop_),
      loop_, seconds(30));
  ASSERT_EQ(results.size(), 3u);
  for (const ProbeResult& r : results) EXPECT_EQ(r.reason, "exit 4: run");
}

TEST(FirstLineTest, SkipsBlankLinesAndTrims) {
  EXPECT_EQ(FirstLine(""), "");
  EXPECT_EQ(FirstLine("\n \n\t\n"), "");
  EXPECT_EQ(FirstLine("\n\n  hello world \r\nsecond"), "hello world");
  EXPECT_EQ(FirstLine("no newline"), "no newline");
  EXPECT_EQ(FirstLine("a\x1b[31mred"), "a [31mred");
}

TEST(FirstLineTest, CutsOnACharacterBoundary) {
  EXPECT_EQ(FirstLine(std::string(80, 'x')), std::string(80, 'x'));
  EXPECT_EQ(FirstLine(std::string(81, 'x')), std::string(80, 'x') + "...");
  // "é" is two bytes; byte 10 would fall inside the sixth one.
  std::string accents;
  for (int i = 0; i < 8; ++i) accents += "\xc3\xa9";
  EXPECT_EQ(FirstLine(accents, 11), accents.substr(0, 10) + "...");
}

}  // namespace
}  // namespace watchd
