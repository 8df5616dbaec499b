#include "state/state_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "tests/support/log_capture.h"
#include "tests/support/subprocess.h"

namespace watchd {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

constexpr char kBootId[] = "0f5b6c1e-8d2a-4c3b-9e7f-112233445566";
const WallTime kNow{std::chrono::milliseconds(1767225600000)};
constexpr char kStamp[] = ".bad-20260101T000000Z";

SavedState Small() {
  SavedState state;
  SavedService& web = state.services["web"];
  web.paused = true;
  web.restarts = {kNow - std::chrono::minutes(2)};
  web.process = SavedProcess{4242, 987654321, kBootId};
  web.checks["health"] = {SavedCheckState::kFailing, 3, 0};
  return state;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Runs fn on a thread without the capabilities that let root read any
// file (capabilities are per thread), so that a mode 000 file is
// unreadable even when the tests run as root.
void WithoutReadOverride(const std::function<void()>& fn) {
  std::thread t([&] {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2];
    ASSERT_EQ(syscall(SYS_capget, &header, data), 0);
    data[0].effective &=
        ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
    ASSERT_EQ(syscall(SYS_capset, &header, data), 0);
    fn();
  });
  t.join();
}

TEST(StateFileTest, MissingFileIsNoStateAndNoProblem) {
  TempDir dir;
  StateFile file(dir.File("state.json"));
  StateFile::Loaded loaded = file.Load(kNow);
  EXPECT_FALSE(loaded.state.has_value());
  EXPECT_TRUE(loaded.problem.ok()) << loaded.problem.message();
  EXPECT_TRUE(loaded.set_aside.empty());
}

TEST(StateFileTest, SavedStateLoadsBackFromAPrivateFile) {
  TempDir dir;
  StateFile file(dir.File("state.json"));
  umask(0);  // the file's mode must not depend on the umask
  Status saved = file.Save(SerializeState(Small()));
  umask(022);
  ASSERT_TRUE(saved.ok()) << saved.message();
  struct stat st;
  ASSERT_EQ(stat(file.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_FALSE(Exists(file.path() + ".tmp"));

  StateFile::Loaded loaded = file.Load(kNow);
  EXPECT_TRUE(loaded.problem.ok()) << loaded.problem.message();
  ASSERT_TRUE(loaded.state.has_value());
  EXPECT_EQ(*loaded.state, Small());
  EXPECT_TRUE(loaded.set_aside.empty());
  EXPECT_TRUE(Exists(file.path()));
}

// A crash between creating the temporary file and renaming it leaves it
// behind; and whatever sits at that name is replaced, never followed.
TEST(StateFileTest, SaveReplacesWhateverIsAtTheTemporaryName) {
  TempDir dir;
  StateFile file(dir.File("state.json"));
  const std::string target = dir.File("precious");
  ASSERT_TRUE(WriteFile(target, "keep me"));
  ASSERT_EQ(symlink(target.c_str(), (file.path() + ".tmp").c_str()), 0);
  ASSERT_TRUE(file.Save(SerializeState(Small())).ok());
  EXPECT_EQ(ReadFile(target), "keep me");

  ASSERT_EQ(mkfifo((file.path() + ".tmp").c_str(), 0600), 0);
  ASSERT_TRUE(file.Save(SerializeState(SavedState{})).ok());
  EXPECT_FALSE(Exists(file.path() + ".tmp"));
  EXPECT_EQ(ReadFile(file.path()), SerializeState(SavedState{}));
}

struct BadFile {
  const char* name;
  // Puts something bad at `path` (the test's directory is `dir`).
  std::function<void(const std::string& path, const std::string& dir)> make;
  // What the problem says after "state file PATH" (or "... PATH: ").
  std::string problem;
  bool unreadable = false;
};

// Every kind of bad file: reported with the path and what is wrong, moved
// aside under a timestamped name, and the next save and load work.
TEST(StateFileTest, BadFilesAreReportedSetAsideAndTheNextSaveWorks) {
  const std::string valid = SerializeState(Small());
  const BadFile cases[] = {
      {"garbage",
       [](auto& p, auto&) {
         WriteFile(p,
                   "\x7f"
                   "ELF\x02\x01\x01 garbage");
       },
       ": not valid JSON: parse error at line 1, column 1"},
      {"empty", [](auto& p, auto&) { WriteFile(p, ""); },
       ": not valid JSON: parse error at line 1, column 1: syntax error "
       "while parsing value - unexpected end of input"},
      {"foreign version",
       [](auto& p, auto&) {
         WriteFile(p, "{\"format\":\"watchd-state\",\"version\":999}");
       },
       ": version 999 is not supported (this watchd reads version 1)"},
      {"wrong type",
       [&](auto& p, auto&) {
         std::string text = valid;
         text.replace(text.find("\"paused\":true"), 13, "\"paused\":\"yes\"");
         WriteFile(p, text);
       },
       ": services.web.paused: expected true or false, not \"yes\""},
      {"FIFO", [](auto& p, auto&) { mkfifo(p.c_str(), 0600); },
       " is a FIFO, not a regular file"},
      {"symlink to a good file",
       [&](auto& p, auto& d) {
         WriteFile(d + "/elsewhere.json", valid);
         symlink((d + "/elsewhere.json").c_str(), p.c_str());
       },
       " is a symbolic link; name the file itself"},
      {"directory",
       [](auto& p, auto&) {
         mkdir(p.c_str(), 0700);
         WriteFile(p + "/inside", "x");
       },
       " is a directory, not a regular file"},
      {"too large",
       [](auto& p, auto&) {
         int fd = open(p.c_str(), O_WRONLY | O_CREAT, 0600);
         (void)!ftruncate(fd, StateFile::kMaxBytes + 1);  // sparse: quick
         close(fd);
       },
       " is 67108865 bytes, more than watchd writes"},
      {"writable by others",
       [&](auto& p, auto&) {
         WriteFile(p, valid);
         chmod(p.c_str(), 0666);
       },
       " could have been written by someone else: it is writable by group or "
       "others"},
      {"owned by another user",
       [&](auto& p, auto&) {
         WriteFile(p, valid);
         (void)!chown(p.c_str(), 65534, 65534);
       },
       " could have been written by someone else: it is owned by "},
      {"unreadable",
       [&](auto& p, auto&) {
         WriteFile(p, valid);
         chmod(p.c_str(), 0);
       },
       ": Permission denied", true},
  };
  for (const BadFile& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    StateFile file(dir.File("state.json"));
    c.make(file.path(), dir.path());
    ASSERT_TRUE(Exists(file.path()));

    testing::LogCapture log;
    StateFile::Loaded loaded;
    if (c.unreadable) {
      WithoutReadOverride([&] { loaded = file.Load(kNow); });
    } else {
      loaded = file.Load(kNow);
    }
    EXPECT_FALSE(loaded.state.has_value());
    const std::string prefix =
        c.unreadable ? "cannot read state file " : "state file ";
    EXPECT_EQ(
        loaded.problem.message().rfind(prefix + file.path() + c.problem, 0), 0u)
        << loaded.problem.message();
    EXPECT_EQ(loaded.set_aside, file.path() + kStamp);
    EXPECT_TRUE(Exists(file.path() + kStamp));
    EXPECT_FALSE(Exists(file.path()));
    EXPECT_EQ(log.Count("warning " + loaded.problem.message() +
                        "; set aside as " + file.path() + kStamp),
              1);

    Status saved = file.Save(valid);
    ASSERT_TRUE(saved.ok()) << saved.message();
    StateFile::Loaded again = file.Load(kNow);
    EXPECT_TRUE(again.problem.ok()) << again.problem.message();
    ASSERT_TRUE(again.state.has_value());
    EXPECT_EQ(*again.state, Small());
  }
}

// A file cut short at any byte (not by watchd, whose writes are atomic,
// but by a copy or restore gone wrong) is refused and set aside.
TEST(StateFileTest, TruncatedAtEveryOffsetIsSetAsideAndTheNextSaveWorks) {
  const std::string valid = SerializeState(Small());
  const size_t complete = valid.find_last_of('}') + 1;
  TempDir dir;
  StateFile file(dir.File("state.json"));
  for (size_t n = 0; n < complete; ++n) {
    SCOPED_TRACE("cut at " + std::to_string(n));
    ASSERT_TRUE(WriteFile(file.path(), valid.substr(0, n)));
    StateFile::Loaded loaded = file.Load(kNow);
    EXPECT_FALSE(loaded.state.has_value());
    EXPECT_EQ(
        loaded.problem.message().rfind("state file " + file.path() + ": ", 0),
        0u)
        << loaded.problem.message();
    ASSERT_EQ(loaded.set_aside, file.path() + kStamp);
    EXPECT_EQ(ReadFile(loaded.set_aside), valid.substr(0, n));
    ASSERT_EQ(unlink(loaded.set_aside.c_str()), 0);

    ASSERT_TRUE(file.Save(valid).ok());
    StateFile::Loaded again = file.Load(kNow);
    ASSERT_TRUE(again.state.has_value()) << again.problem.message();
    EXPECT_EQ(*again.state, Small());
  }
}

TEST(StateFileTest, SetAsideKeepsEveryBadFile) {
  TempDir dir;
  StateFile file(dir.File("state.json"));
  for (const char* text : {"one", "two", "three"}) {
    ASSERT_TRUE(WriteFile(file.path(), text));
    EXPECT_FALSE(file.Load(kNow).set_aside.empty());
  }
  EXPECT_EQ(ReadFile(file.path() + kStamp), "one");
  EXPECT_EQ(ReadFile(file.path() + kStamp + "-1"), "two");
  EXPECT_EQ(ReadFile(file.path() + kStamp + "-2"), "three");
}

TEST(StateFileTest, MissingDirectoryIsAClearErrorAndNothingIsSetAside) {
  TempDir dir;
  const std::string missing = dir.File("lib/watchd");
  StateFile file(missing + "/state.json");
  testing::LogCapture log;
  StateFile::Loaded loaded = file.Load(kNow);
  EXPECT_FALSE(loaded.state.has_value());
  EXPECT_EQ(loaded.problem.message(), "state file " + file.path() +
                                          ": its directory " + missing +
                                          " does not exist");
  EXPECT_TRUE(loaded.set_aside.empty());
  EXPECT_TRUE(log.Contains("warning " + loaded.problem.message()));
  EXPECT_EQ(file.Save("{}").message(), "cannot write state file " +
                                           file.path() + ": its directory " +
                                           missing + " does not exist");

  const std::string plain = dir.File("plain");
  ASSERT_TRUE(WriteFile(plain, "x"));
  StateFile under_file(plain + "/state.json");
  EXPECT_EQ(under_file.Load(kNow).problem.message(),
            "state file " + plain + "/state.json: its directory " + plain +
                " is a regular file, not a directory");
  EXPECT_EQ(under_file.Save("{}").message(),
            "cannot write state file " + plain + "/state.json: its directory " +
                plain + " is a regular file, not a directory");
}

// A reader (watchd starting after a crash, an operator's cat) polling the
// file while it is saved over and over never sees a partial file.
TEST(StateFileTest, ReaderNeverSeesAPartialFile) {
  TempDir dir;
  StateFile file(dir.File("state.json"));
  // Versions of different lengths, so that a torn read would show.
  std::vector<std::string> versions;
  for (int i = 0; i < 7; ++i) {
    SavedState state = Small();
    for (int j = 0; j < i * 5; ++j) {
      state.services["svc" + std::to_string(j)]
          .checks["c"]
          .consecutive_successes = i;
    }
    versions.push_back(SerializeState(state));
  }
  ASSERT_TRUE(file.Save(versions[0]).ok());

  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::string text = ReadFile(file.path());
      bool known = false;
      for (const std::string& v : versions) known = known || text == v;
      if (!known) torn.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  constexpr int kSaves = 1000;
  for (int i = 0; i < kSaves; ++i) {
    Status s = file.Save(versions[i % versions.size()]);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
  EXPECT_FALSE(Exists(file.path() + ".tmp"));
}

}  // namespace
}  // namespace watchd
