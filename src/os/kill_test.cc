#include "os/kill.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/process_table.h"

namespace watchd {
namespace {

pid_t SpawnSleeper() {
  pid_t pid = fork();
  if (pid == 0) {
    execlp("sleep", "sleep", "1000", nullptr);
    _exit(127);
  }
  return pid;
}

TEST(KillTest, SignalsTheRecordedProcess) {
  pid_t pid = SpawnSleeper();
  ASSERT_GT(pid, 0);
  auto st = ReadProcStat(pid);
  ASSERT_TRUE(st.ok());
  ProcessIdentity id{pid, st->start_time};
  EXPECT_TRUE(SystemProcessTable()->IsAlive(id));
  ASSERT_TRUE(SignalIfSame(id, SIGKILL).ok());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  EXPECT_FALSE(SystemProcessTable()->IsAlive(id));
  EXPECT_FALSE(SignalIfSame(id, SIGKILL).ok());
}

TEST(KillTest, RefusesAProcessWithAnotherStartTime) {
  pid_t pid = SpawnSleeper();
  ASSERT_GT(pid, 0);
  auto st = ReadProcStat(pid);
  ASSERT_TRUE(st.ok());
  // The same pid, but recorded from an earlier process: a recycled pid.
  ProcessIdentity stale{pid, st->start_time - 1};
  EXPECT_FALSE(SystemProcessTable()->IsAlive(stale));
  Status s = SignalIfSame(stale, SIGKILL);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("recycled"), std::string::npos) << s.message();
  EXPECT_TRUE(SystemProcessTable()->IsAlive({pid, st->start_time}))
      << "must not have been killed";
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST(KillTest, ZombieIsNotAlive) {
  pid_t pid = SpawnSleeper();
  auto st = ReadProcStat(pid);
  ASSERT_TRUE(st.ok());
  ProcessIdentity id{pid, st->start_time};
  kill(pid, SIGKILL);
  // Not reaped: a zombie until waitpid.
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, pid, &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(SystemProcessTable()->IsAlive(id));
  waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace watchd
