#include "core/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "core/fake_clock.h"

namespace watchd {
namespace {

using std::chrono::milliseconds;

class EventLoopTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loop_.Init().ok()); }

  // Runs the loop until cond holds or 5 s pass.
  bool RunUntil(const std::function<bool()>& cond) {
    TimePoint deadline = loop_.Now() + std::chrono::seconds(5);
    while (!cond() && loop_.Now() < deadline) loop_.RunOnce(milliseconds(50));
    return cond();
  }

  EventLoop loop_;
};

TEST_F(EventLoopTest, TimersFireInOrderAndNeverEarly) {
  std::vector<int> order;
  std::vector<TimePoint> fired(3);
  Timer a([&] {
    order.push_back(1);
    fired[0] = loop_.Now();
  });
  Timer b([&] {
    order.push_back(2);
    fired[1] = loop_.Now();
  });
  Timer c([&] {
    order.push_back(3);
    fired[2] = loop_.Now();
  });
  TimePoint start = loop_.Now();
  loop_.ScheduleAt(&c, start + milliseconds(60));
  loop_.ScheduleAt(&a, start + milliseconds(20));
  loop_.ScheduleAt(&b, start + milliseconds(40));
  ASSERT_TRUE(RunUntil([&] { return order.size() == 3; }));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(fired[0] - start, milliseconds(20));
  EXPECT_GE(fired[1] - start, milliseconds(40));
  EXPECT_GE(fired[2] - start, milliseconds(60));
}

TEST_F(EventLoopTest, IdleLoopSleepsUntilTheNextTimer) {
  bool fired = false;
  Timer t([&] { fired = true; });
  loop_.ScheduleAfter(&t, milliseconds(100));
  // No max_wait: a single pass must block until the timer is due, not spin.
  int passes = 0;
  while (!fired && passes < 1000) {
    loop_.RunOnce();
    ++passes;
  }
  EXPECT_TRUE(fired);
  EXPECT_LE(passes, 3);
}

TEST_F(EventLoopTest, CancelledTimerDoesNotFire) {
  bool fired = false, other = false;
  Timer t([&] { fired = true; });
  Timer u([&] { other = true; });
  loop_.ScheduleAfter(&t, milliseconds(10));
  loop_.ScheduleAfter(&u, milliseconds(30));
  loop_.Cancel(&t);
  ASSERT_TRUE(RunUntil([&] { return other; }));
  EXPECT_FALSE(fired);
}

TEST_F(EventLoopTest, WatchesPipeReadiness) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  std::string got;
  ASSERT_TRUE(loop_
                  .Watch(fds[0], EPOLLIN,
                         [&](uint32_t events) {
                           EXPECT_TRUE(events & EPOLLIN);
                           char buf[64];
                           ssize_t n = read(fds[0], buf, sizeof(buf));
                           if (n > 0) got.append(buf, n);
                         })
                  .ok());
  ASSERT_EQ(write(fds[1], "ping", 4), 4);
  ASSERT_TRUE(RunUntil([&] { return got == "ping"; }));
  loop_.Unwatch(fds[0]);
  EXPECT_FALSE(loop_.IsWatched(fds[0]));
  close(fds[0]);
  close(fds[1]);
}

TEST_F(EventLoopTest, CallbackMayUnwatchAnotherReadyFd) {
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_NONBLOCK | O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(b, O_NONBLOCK | O_CLOEXEC), 0);
  int calls = 0;
  // Whichever runs first unwatches the other; the other must not run.
  auto cb = [&](int self, int other) {
    return [&, self, other](uint32_t) {
      ++calls;
      char c;
      while (read(self, &c, 1) > 0) {
      }
      loop_.Unwatch(other);
    };
  };
  ASSERT_TRUE(loop_.Watch(a[0], EPOLLIN, cb(a[0], b[0])).ok());
  ASSERT_TRUE(loop_.Watch(b[0], EPOLLIN, cb(b[0], a[0])).ok());
  ASSERT_EQ(write(a[1], "x", 1), 1);
  ASSERT_EQ(write(b[1], "x", 1), 1);
  loop_.RunOnce(milliseconds(1000));
  EXPECT_EQ(calls, 1);
  for (int fd : {a[0], a[1], b[0], b[1]}) {
    loop_.Unwatch(fd);
    close(fd);
  }
}

TEST_F(EventLoopTest, DeliversSignalsOnTheLoop) {
  int got = 0;
  ASSERT_TRUE(
      loop_.HandleSignals({SIGUSR1}, [&](int signo) { got = signo; }).ok());
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  ASSERT_TRUE(RunUntil([&] { return got != 0; }));
  EXPECT_EQ(got, SIGUSR1);
}

TEST_F(EventLoopTest, TimerRearmedFromItsCallbackRunsPeriodically) {
  int runs = 0;
  Timer t;
  t.set_callback([&] {
    if (++runs < 5) loop_.ScheduleAfter(&t, milliseconds(5));
  });
  loop_.ScheduleAfter(&t, milliseconds(5));
  ASSERT_TRUE(RunUntil([&] { return runs == 5; }));
  EXPECT_FALSE(t.pending());
}

TEST_F(EventLoopTest, TasksRunInALaterPassInTheirOrder) {
  std::vector<int> ran;
  for (int i = 0; i < 3; ++i) loop_.RunInLoop([&ran, i] { ran.push_back(i); });
  EXPECT_TRUE(ran.empty()) << "never inside RunInLoop";
  loop_.RunOnce(milliseconds(1000));
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2}));

  // A task given by a task waits for the next pass: tasks cannot starve
  // the loop's I/O.
  loop_.RunInLoop([&] {
    ran.push_back(3);
    loop_.RunInLoop([&] { ran.push_back(4); });
  });
  loop_.RunOnce(milliseconds(1000));
  EXPECT_EQ(ran.size(), 4u);
  loop_.RunOnce(milliseconds(1000));
  EXPECT_EQ(ran.size(), 5u);
}

// A loop asleep with nothing to wait for wakes for a task from another
// thread.
TEST_F(EventLoopTest, ATaskWakesAnIdleLoop) {
  bool ran = false;
  std::thread other([&] { loop_.RunInLoop([&] { ran = true; }); });
  const TimePoint start = loop_.Now();
  while (!ran && loop_.Now() - start < std::chrono::seconds(30)) {
    loop_.RunOnce(std::chrono::seconds(30));
  }
  other.join();
  EXPECT_TRUE(ran);
  EXPECT_LT(loop_.Now() - start, std::chrono::seconds(10));
}

// Many threads give tasks while the loop runs: each runs once, on the
// loop, in the order its thread gave them.
TEST_F(EventLoopTest, TasksFromManyThreadsEachRunOnceInOrder) {
  constexpr int kThreads = 8;
  constexpr int kTasks = 2000;
  const std::thread::id loop_thread = std::this_thread::get_id();
  std::vector<std::vector<int>> seen(kThreads);
  int total = 0;
  bool off_loop = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kTasks; ++i) {
        loop_.RunInLoop([&, t, i] {
          off_loop |= std::this_thread::get_id() != loop_thread;
          seen[t].push_back(i);
          ++total;
        });
      }
    });
  }
  const TimePoint deadline = loop_.Now() + std::chrono::seconds(60);
  while (total < kThreads * kTasks && loop_.Now() < deadline) {
    loop_.RunOnce(milliseconds(100));
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(total, kThreads * kTasks);
  EXPECT_FALSE(off_loop);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<size_t>(kTasks)) << t;
    for (int i = 0; i < kTasks; ++i) ASSERT_EQ(seen[t][i], i) << t;
  }
}

// What is still queued when the loop goes (given by other threads up to
// the end, as the metrics server's do) is destroyed without running, and
// releases what it holds.
TEST(EventLoopTaskTest, TasksLeftAtDestructionAreDestroyedNotRun) {
  constexpr int kThreads = 4;
  constexpr int kTasks = 500;
  auto token = std::make_shared<int>(0);
  int ran = 0;
  {
    EventLoop loop;
    ASSERT_TRUE(loop.Init().ok());
    auto give = [&] {
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < kTasks; ++i) {
            loop.RunInLoop([&ran, token] { ++ran; });
          }
        });
      }
      for (std::thread& t : threads) t.join();
    };
    give();
    loop.RunOnce(milliseconds(1000));
    EXPECT_EQ(ran, kThreads * kTasks);
    // Given, never run: the loop is destroyed first.
    give();
    EXPECT_EQ(token.use_count(), 1 + kThreads * kTasks);
  }
  EXPECT_EQ(ran, kThreads * kTasks);
  EXPECT_EQ(token.use_count(), 1);
}

// Zero-delay work (curl's "act now") must not wait for the next 1 ms tick:
// a timer already due runs in the same pass, even mid-tick.
TEST(EventLoopClockTest, TimerDueNowFiresInTheCurrentPass) {
  FakeClock clock;
  EventLoop loop(&clock);
  ASSERT_TRUE(loop.Init().ok());
  clock.Advance(std::chrono::microseconds(300));
  int fired = 0;
  Timer t([&] { ++fired; });
  loop.ScheduleAfter(&t, Duration::zero());
  loop.RunOnce(milliseconds(0));
  EXPECT_EQ(fired, 1);
  // A time in the future still waits for its tick.
  loop.ScheduleAfter(&t, std::chrono::microseconds(100));
  loop.RunOnce(milliseconds(0));
  EXPECT_EQ(fired, 1);
  clock.Advance(std::chrono::microseconds(700));
  loop.RunOnce(milliseconds(0));
  EXPECT_EQ(fired, 2);
}

// The coalescing grid counts from the loop's start: times round up to it,
// never down, and a time on it stays put. Its step is the loop's grain or
// the caller's bound, whichever is smaller.
TEST(EventLoopClockTest, CoalesceRoundsUpToTheGridOfTheLoop) {
  FakeClock clock;
  EventLoop loop(&clock);
  TimePoint start = clock.Now();
  clock.Advance(std::chrono::microseconds(2500));  // the grid keeps its origin
  const Duration kBound = milliseconds(100);
  EXPECT_EQ(loop.coalescing_grain(), milliseconds(1));
  EXPECT_EQ(loop.Coalesce(start + std::chrono::microseconds(1500), kBound),
            start + milliseconds(2));
  loop.set_coalescing_grain(milliseconds(10));
  EXPECT_EQ(loop.Coalesce(start + milliseconds(20), kBound),
            start + milliseconds(20));
  EXPECT_EQ(loop.Coalesce(start + milliseconds(21), kBound),
            start + milliseconds(30));
  EXPECT_EQ(loop.Coalesce(start + std::chrono::microseconds(20001), kBound),
            start + milliseconds(30));
  EXPECT_EQ(loop.Coalesce(start - milliseconds(5), kBound), start);
  // The caller's bound wins when smaller; below 1 ms it is the tick.
  EXPECT_EQ(loop.Coalesce(start + milliseconds(21), milliseconds(4)),
            start + milliseconds(24));
  EXPECT_EQ(loop.Coalesce(start + std::chrono::microseconds(1500),
                          std::chrono::microseconds(10)),
            start + milliseconds(2));
}

// Long waits are asked short of their end by the kernel's slack (0.1% of
// the timeout, 0.5% when niced, at most 100 ms), so they never wake late.
TEST(EventLoopClockTest, LongWaitsAreAskedShortOfTheKernelsSlack) {
  using std::chrono::seconds;
  EXPECT_EQ(EventLoop::EpollTimeout(milliseconds(3)), milliseconds(3));
  EXPECT_EQ(EventLoop::EpollTimeout(seconds(1)), seconds(1));
  EXPECT_EQ(EventLoop::EpollTimeout(seconds(15)), milliseconds(14925));
  EXPECT_EQ(EventLoop::EpollTimeout(seconds(3600)),
            seconds(3600) - milliseconds(100));
  for (Duration w :
       {Duration(seconds(2)), Duration(seconds(15)), Duration(seconds(600))}) {
    Duration asked = EventLoop::EpollTimeout(w);
    Duration slack = std::min<Duration>(asked / 200, milliseconds(100));
    EXPECT_LE(asked + slack, w) << "even a niced loop wakes by its time";
  }
}

}  // namespace
}  // namespace watchd
