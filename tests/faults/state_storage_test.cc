// Faults of the disk under the state file: a full file system and a
// read-only one. watchd keeps watching, says once what is wrong, keeps the
// last good file whole, and saves again once it can. See
// docs/reliability.md, "Fault matrix".
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/http_server.h"
#include "tests/support/on_schedule.h"
#include "tests/support/subprocess.h"
#include "tests/support/wait.h"
#include "tests/support/watchctl_run.h"
#include "tests/support/watchd_process.h"

namespace watchd::testing {
namespace {

using std::chrono::seconds;

// A tmpfs of `size` mounted on a new directory, unmounted on destruction.
// Mounting needs root (CAP_SYS_ADMIN): the README's test command runs as
// root, and a test without it is skipped, saying why.
class Tmpfs {
 public:
  explicit Tmpfs(const std::string& size) {
    std::string options = "size=" + size + ",mode=0755";
    mounted_ =
        mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~Tmpfs() {
    if (mounted_) umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  std::string File(const std::string& name) const { return dir_.File(name); }
  bool SetReadOnly(bool read_only) {
    return mount("tmpfs", dir_.path().c_str(), "tmpfs",
                 MS_REMOUNT | (read_only ? MS_RDONLY : 0), nullptr) == 0;
  }

 private:
  TempDir dir_;
  bool mounted_ = false;
};

// Fills the file system of `path` with one file: writes until ENOSPC.
bool FillUp(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  std::string block(4096, 'x');
  for (int i = 0; i < 1 << 20 && out.write(block.data(), block.size()); ++i) {
  }
  return !out.good();
}

// The saved file is whole JSON in watchd's format, naming `service`.
bool ValidStateNaming(const std::string& path, const std::string& service) {
  nlohmann::json state = nlohmann::json::parse(ReadFile(path), nullptr,
                                               /*allow_exceptions=*/false);
  return !state.is_discarded() && state.value("format", "") == "watchd-state" &&
         state.contains("services") && state["services"].contains(service);
}

std::string Services(const HttpServer& server) {
  return SentinelService(server) +
         "  web:\n    checks:\n      up:\n        http: {url: \"" +
         server.Url("/ok") + "\"}\n        interval: 200ms\n";
}

TEST(StateStorageFault, AFullDiskIsReportedOnceAndTheFileSavedOnceThereIsRoom) {
  Tmpfs disk("64k");
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root";
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  ASSERT_TRUE(FillUp(disk.File("filler")));
  const std::string state = disk.File("state.json");
  WatchdProcess watchd(Services(server), "", "  state_file: " + state + "\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();

  ASSERT_TRUE(watchd.WaitForLog("No space left on device", seconds(30)))
      << watchd.Log();
  EXPECT_TRUE(StillOnSchedule(watchd));
  std::string log = watchd.Log();
  // One line for the whole outage, not one per try.
  size_t first_line = log.find("No space left on device");
  EXPECT_EQ(log.find("No space left on device", first_line + 1),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("trying again every"), std::string::npos) << log;
  // Nothing half-written is left where the file goes.
  EXPECT_FALSE(access(state.c_str(), F_OK) == 0 &&
               !ValidStateNaming(state, "web"));

  ASSERT_EQ(unlink(disk.File("filler").c_str()), 0);
  ASSERT_TRUE(watchd.WaitForLog("saved again", seconds(30))) << watchd.Log();
  EXPECT_TRUE(ValidStateNaming(state, "web")) << ReadFile(state);
  EXPECT_NE(access((state + ".tmp").c_str(), F_OK), 0);
  EXPECT_TRUE(StillOnSchedule(watchd));
}

TEST(StateStorageFault,
     AReadOnlyDirectoryKeepsTheLastFileAndIsSavedToWhenWritable) {
  Tmpfs disk("1m");
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root";
  HttpServer server;
  ASSERT_TRUE(server.WaitReady());
  const std::string state = disk.File("state.json");
  WatchdProcess watchd(Services(server), "", "  state_file: " + state + "\n");
  ASSERT_TRUE(watchd.Start()) << watchd.Log();
  ASSERT_TRUE(
      WaitFor([&] { return ValidStateNaming(state, "web"); }, seconds(30)));

  // EBUSY while watchd has a file open for writing there: again.
  ASSERT_TRUE(WaitFor([&] { return disk.SetReadOnly(true); }, seconds(30)));
  // A pause is a change worth saving; it cannot be saved now.
  ASSERT_TRUE(WaitFor(
      [&] {
        return RunWatchctl(watchd.control_socket(), {"pause", "web"})
                   .exit_code == 0;
      },
      seconds(10)));
  ASSERT_TRUE(watchd.WaitForLog("Read-only file system", seconds(30)))
      << watchd.Log();
  EXPECT_TRUE(StillOnSchedule(watchd));
  // The file saved before is still there, whole.
  EXPECT_TRUE(ValidStateNaming(state, "web")) << ReadFile(state);

  ASSERT_TRUE(disk.SetReadOnly(false));
  ASSERT_TRUE(watchd.WaitForLog("saved again", seconds(30))) << watchd.Log();
  nlohmann::json saved = nlohmann::json::parse(ReadFile(state));
  EXPECT_EQ(saved["services"]["web"].value("paused", false), true) << saved;
  EXPECT_TRUE(StillOnSchedule(watchd));
}

}  // namespace
}  // namespace watchd::testing
