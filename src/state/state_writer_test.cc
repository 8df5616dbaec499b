#include "state/state_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/event_loop.h"
#include "core/fake_clock.h"
#include "tests/support/log_capture.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ReadFile;
using testing::TempDir;
using testing::WaitFor;

constexpr Duration kInterval = seconds(1);
// Generous: the worker's fsyncs on a loaded machine.
constexpr milliseconds kDeadline(30000);

class StateWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  void Make(const std::string& path, Duration interval = kInterval) {
    file_ = std::make_unique<StateFile>(path);
    writer_ = std::make_unique<StateWriter>(file_.get(), &loop_, interval,
                                            [this] { return Snapshot(); });
  }

  // The state as the daemon would serialize it: its version is how many
  // changes were made.
  StateWriter::Text Snapshot() {
    ++snapshots_;
    snapshot_thread_ = std::this_thread::get_id();
    SavedState state;
    state.services["web"].consecutive_restarts = changes_;
    return [this, state] {
      serialize_thread_ = std::this_thread::get_id();
      return SerializeState(state);
    };
  }
  void Change() {
    ++changes_;
    writer_->MarkDirty();
  }

  // The loop keeping fake time, in steps.
  void Advance(Duration d, Duration step = milliseconds(10)) {
    loop_.RunOnce(Duration::zero());
    for (Duration done{0}; done < d; done += step) {
      clock_.Advance(step);
      loop_.RunOnce(Duration::zero());
    }
  }

  int OnDisk() {
    auto state = ParseState(ReadFile(file_->path()));
    return state.ok() ? state->services["web"].consecutive_restarts : -1;
  }

  // Declared first: it outlives the writer's worker, which logs.
  testing::LogCapture log_;
  TempDir dir_;
  FakeClock clock_;
  EventLoop loop_{&clock_};
  std::unique_ptr<StateFile> file_;
  std::unique_ptr<StateWriter> writer_;
  int changes_ = 0;
  int snapshots_ = 0;
  std::thread::id snapshot_thread_;
  std::atomic<std::thread::id> serialize_thread_;
};

// The measure of the design: a restart storm of 100 services marks the
// state dirty 100 times within a moment, and one write follows.
TEST_F(StateWriterTest, HundredChangesInABurstMakeOneWrite) {
  Make(dir_.File("state.json"));
  for (int i = 0; i < 100; ++i) Change();
  Advance(kInterval - milliseconds(10));
  EXPECT_EQ(snapshots_, 0);  // nothing before the interval is over
  Advance(milliseconds(20));
  EXPECT_EQ(snapshots_, 1);
  ASSERT_TRUE(WaitFor([&] { return writer_->saves() == 1; }, kDeadline));
  EXPECT_EQ(OnDisk(), 100);
  // Copied on the loop's thread, serialized off it.
  EXPECT_EQ(snapshot_thread_, std::this_thread::get_id());
  EXPECT_NE(serialize_thread_.load(), std::this_thread::get_id());
  EXPECT_NE(serialize_thread_.load(), std::thread::id());

  Advance(seconds(10));
  EXPECT_EQ(snapshots_, 1);
  EXPECT_EQ(writer_->saves(), 1u);
}

// A storm spread over most of an interval (restarts ending one by one) is
// still one write.
TEST_F(StateWriterTest, ChangesSpreadOverAnIntervalMakeOneWrite) {
  Make(dir_.File("state.json"));
  for (int i = 0; i < 100; ++i) {
    Change();
    Advance(milliseconds(9), milliseconds(3));
  }
  Advance(milliseconds(200));
  EXPECT_EQ(snapshots_, 1);
  ASSERT_TRUE(WaitFor([&] { return writer_->saves() == 1; }, kDeadline));
  EXPECT_EQ(OnDisk(), 100);
}

TEST_F(StateWriterTest, ALaterChangeIsWrittenAnIntervalAfterIt) {
  Make(dir_.File("state.json"));
  Change();
  Advance(kInterval + milliseconds(10));
  ASSERT_TRUE(WaitFor([&] { return writer_->saves() == 1; }, kDeadline));
  EXPECT_EQ(OnDisk(), 1);

  Advance(seconds(30));  // quiet: nothing written
  EXPECT_EQ(snapshots_, 1);
  Change();
  Change();
  Advance(kInterval + milliseconds(10));
  ASSERT_TRUE(WaitFor([&] { return writer_->saves() == 2; }, kDeadline));
  EXPECT_EQ(OnDisk(), 3);
  EXPECT_EQ(snapshots_, 2);
}

// SIGTERM: the change still waiting for its interval is not lost, and the
// file holds the state as it was at the end.
TEST_F(StateWriterTest, CloseSavesTheLatestStateAtOnce) {
  Make(dir_.File("state.json"));
  Change();
  Advance(kInterval + milliseconds(10));
  ASSERT_TRUE(WaitFor([&] { return writer_->saves() == 1; }, kDeadline));
  Change();
  Change();
  Status closed = writer_->Close();
  ASSERT_TRUE(closed.ok()) << closed.message();
  EXPECT_EQ(writer_->saves(), 2u);
  EXPECT_EQ(OnDisk(), 3);

  // Closed: nothing more is scheduled or written.
  Change();
  Advance(seconds(5));
  EXPECT_EQ(writer_->saves(), 2u);
  EXPECT_EQ(loop_.pending_timers(), 0u);
}

TEST_F(StateWriterTest, CloseWithNothingChangedStillSaves) {
  Make(dir_.File("state.json"));
  ASSERT_TRUE(writer_->Close().ok());
  EXPECT_EQ(writer_->saves(), 1u);
  EXPECT_EQ(OnDisk(), 0);
}

TEST_F(StateWriterTest, CloseReportsAFailedSave) {
  Make(dir_.File("missing/state.json"));
  Status closed = writer_->Close();
  EXPECT_EQ(closed.message(),
            "cannot write state file " + dir_.File("missing/state.json") +
                ": its directory " + dir_.File("missing") + " does not exist");
  EXPECT_EQ(writer_->saves(), 0u);
}

// A save that fails (the directory is gone, the disk full) is logged once
// and tried again by the worker until it works, without a new change to
// prompt it.
TEST_F(StateWriterTest, AFailedSaveIsRetriedUntilItWorks) {
  const std::string sub = dir_.File("sub");
  Make(sub + "/state.json", milliseconds(20));
  Change();
  Advance(milliseconds(30));
  EXPECT_EQ(snapshots_, 1);
  const std::string warning = "warning cannot write state file " + sub +
                              "/state.json: its directory " + sub +
                              " does not exist; trying again every 20ms";
  ASSERT_TRUE(WaitFor([&] { return log_.Contains(warning); }, kDeadline));
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  ASSERT_TRUE(WaitFor([&] { return writer_->saves() == 1; }, kDeadline));
  EXPECT_EQ(OnDisk(), 1);
  EXPECT_EQ(snapshots_, 1);
  EXPECT_EQ(log_.Count(warning), 1);
  EXPECT_TRUE(
      log_.Contains("info state file " + sub + "/state.json saved again"));
}

// Destroyed without Close (the daemon failing to start): a text already
// handed over is still saved, and the worker is joined.
TEST_F(StateWriterTest, DestructionFinishesAHandedOverSave) {
  Make(dir_.File("state.json"));
  Change();
  Advance(kInterval + milliseconds(10));
  EXPECT_EQ(snapshots_, 1);
  writer_.reset();
  EXPECT_EQ(OnDisk(), 1);
}

}  // namespace
}  // namespace watchd
