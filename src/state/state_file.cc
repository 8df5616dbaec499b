#include "state/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "os/safe_file.h"

namespace watchd {
namespace {

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Why `dir` cannot hold the state file; empty when it can.
std::string DirectoryProblem(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return "its directory " + dir + " does not exist";
    return "its directory " + dir + " cannot be examined: " + strerror(errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return "its directory " + dir + " is " + FileTypeName(st.st_mode) +
           ", not a directory";
  }
  return "";
}

// "20260131T235959Z"
std::string CompactUtc(WallTime now) {
  time_t t = std::chrono::system_clock::to_time_t(now);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    Status error = Status::Error(strerror(errno));
    if (fd >= 0) close(fd);
    return error;
  }
  close(fd);
  return Status::Ok();
}

}  // namespace

StateFile::StateFile(std::string path)
    : path_(std::move(path)), dir_(DirectoryOf(path_)) {}

StateFile::Loaded StateFile::Load(WallTime now) const {
  Loaded loaded;
  struct stat st;
  if (lstat(path_.c_str(), &st) != 0) {
    // Nothing there to set aside: no state, unless the directory is
    // missing too, which every save would then fail on.
    const int error = errno;
    std::string why = error == ENOENT || error == ENOTDIR
                          ? DirectoryProblem(dir_)
                          : std::string();
    if (!why.empty()) {
      loaded.problem = Status::Error("state file " + path_ + ": " + why);
    } else if (error != ENOENT) {
      loaded.problem = Status::Error("cannot read state file " + path_ + ": " +
                                     strerror(error));
    }
    if (!loaded.problem.ok()) spdlog::warn("{}", loaded.problem.message());
    return loaded;
  }
  Result<SavedState> state = Read();
  if (state.ok()) {
    loaded.state = std::move(state).value();
    return loaded;
  }
  loaded.problem = state.status();
  Result<std::string> moved = SetAside(now);
  if (moved.ok()) {
    loaded.set_aside = *moved;
    spdlog::warn("{}; set aside as {}", loaded.problem.message(), *moved);
  } else {
    spdlog::warn("{}; {}", loaded.problem.message(), moved.status().message());
  }
  return loaded;
}

Result<SavedState> StateFile::Read() const {
  struct stat st;
  Result<int> fd = OpenRegularFile(path_, "state file", &st);
  if (!fd.ok()) return fd.status();
  // It names the processes watchd may SIGKILL: only root and watchd may
  // have written it.
  if (std::string why = UntrustedBecause(path_, st, geteuid()); !why.empty()) {
    close(*fd);
    return Status::Error("state file " + path_ +
                         " could have been written by someone else: " + why);
  }
  if (st.st_size > kMaxBytes) {
    close(*fd);
    return Status::Error("state file " + path_ + " is " +
                         std::to_string(st.st_size) +
                         " bytes, more than watchd writes");
  }
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status error = Status::Error("cannot read state file " + path_ + ": " +
                                   strerror(errno));
      close(*fd);
      return error;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    // It grew while being read: not a file watchd wrote.
    if (static_cast<int64_t>(text.size()) > kMaxBytes) break;
  }
  close(*fd);
  Result<SavedState> state = ParseState(text);
  if (!state.ok()) {
    return Status::Error("state file " + path_ + ": " +
                         state.status().message());
  }
  return state;
}

Result<std::string> StateFile::SetAside(WallTime now) const {
  const std::string base = path_ + ".bad-" + CompactUtc(now);
  // Two bad files within a second (a crash loop) keep both.
  constexpr int kMaxTries = 100;
  for (int i = 0; i < kMaxTries; ++i) {
    std::string to = i == 0 ? base : base + "-" + std::to_string(i);
    struct stat st;
    if (lstat(to.c_str(), &st) == 0) continue;
    if (rename(path_.c_str(), to.c_str()) != 0) {
      return Status::Error("cannot set it aside as " + to + ": " +
                           strerror(errno));
    }
    return to;
  }
  return Status::Error("cannot set it aside: " + base + " and " +
                       std::to_string(kMaxTries - 1) + " more names are taken");
}

Status StateFile::Save(const std::string& text) const {
  const std::string tmp = path_ + ".tmp";
  auto failed = [&](const std::string& step, int error) {
    // A directory that is missing (or is not one) is named as such, not
    // as the step that first ran into it.
    std::string why = error == ENOENT || error == ENOTDIR
                          ? DirectoryProblem(dir_)
                          : std::string();
    if (why.empty()) why = step + ": " + strerror(error);
    return Status::Error("cannot write state file " + path_ + ": " + why);
  };
  // O_EXCL after the unlink: a leftover, or anything planted at the
  // temporary name, is replaced rather than followed or opened.
  if (unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return failed("removing " + tmp, errno);
  }
  int fd = open(tmp.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return failed("creating " + tmp, errno);
  Status status;
  // The umask may have taken more than group and others.
  if (fchmod(fd, 0600) != 0) {
    status = failed("setting the mode of " + tmp, errno);
  } else if (Status w = WriteAll(fd, text); !w.ok()) {
    status = Status::Error("cannot write state file " + path_ + ": writing " +
                           tmp + ": " + w.message());
  } else if (fsync(fd) != 0) {
    status = failed("syncing " + tmp, errno);
  }
  if (close(fd) != 0 && status.ok()) status = failed("closing " + tmp, errno);
  if (status.ok() && rename(tmp.c_str(), path_.c_str()) != 0) {
    status = failed("renaming " + tmp + " over it", errno);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  if (Status d = SyncDirectory(dir_); !d.ok()) {
    return Status::Error("cannot write state file " + path_ +
                         ": syncing its directory " + dir_ + ": " +
                         d.message());
  }
  return Status::Ok();
}

}  // namespace watchd
