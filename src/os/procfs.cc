#include "os/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "os/safe_file.h"

namespace watchd {
namespace {

// Plain read() calls: /proc files are read thousands of times a second
// with 1,000 supervised services, and streams cost more than the read.
bool Slurp(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return n == 0;
}

// Reads a small file into buf with one read(): procfs and regular files
// hand over all they have at once, so a read that does not fill the buffer
// has reached the end. -1 when it cannot be opened or read; a file that
// fills the buffer is too big for its kind and returns -1 too.
ssize_t ReadSmall(const char* path, char* buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, size);
  close(fd);
  return n >= 0 && static_cast<size_t>(n) < size ? n : -1;
}

// Reads ROOT/PID/NAME into buf (see ReadSmall); the path is built on the
// stack, sparing an allocation and a printf per read.
ssize_t ReadProcFile(const std::string& root, pid_t pid, const char* name,
                     char* buf, size_t size) {
  char path[PATH_MAX];
  char* const last = path + sizeof(path) - 1;
  const size_t name_len = strlen(name);
  // Room for the root, "/", 10 digits, "/" and the name.
  if (root.size() + name_len + 12 > sizeof(path) - 1) return -1;
  char* at = std::copy(root.begin(), root.end(), path);
  *at++ = '/';
  at = std::to_chars(at, last, pid).ptr;
  *at++ = '/';
  at = std::copy(name, name + name_len, at);
  *at = '\0';
  return ReadSmall(path, buf, size);
}

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

FileStamp StampOf(const struct stat& sb) {
  FileStamp s;
  s.dev = static_cast<uint64_t>(sb.st_dev);
  s.ino = static_cast<uint64_t>(sb.st_ino);
  s.size = static_cast<int64_t>(sb.st_size);
  s.mtime_ns =
      static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
  s.ctime_ns =
      static_cast<int64_t>(sb.st_ctim.tv_sec) * 1000000000 + sb.st_ctim.tv_nsec;
  return s;
}

Result<pid_t> ParsePidfile(std::string_view text, const std::string& path) {
  size_t end = text.find_last_not_of(" \t\r\n");
  text = end == std::string_view::npos ? "" : text.substr(0, end + 1);
  int64_t pid = 0;
  if (text.empty() || text.size() > 10 ||
      text.find_first_not_of("0123456789") != std::string_view::npos ||
      !ParseNumber(text, &pid) || pid <= 0 || pid > INT32_MAX) {
    return Status::Error("pidfile " + path + " holds no pid");
  }
  return static_cast<pid_t>(pid);
}

}  // namespace

Result<ProcStat> ParseProcStat(std::string_view text) {
  // "pid (comm) state ppid ..." where comm may contain ") (": the last ')'
  // ends it.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos ||
      close < open) {
    return Status::Error("malformed stat");
  }
  ProcStat st;
  int64_t pid = 0;
  if (!ParseNumber(text.substr(0, text.find(' ')), &pid)) {
    return Status::Error("malformed stat");
  }
  st.pid = static_cast<pid_t>(pid);
  st.comm.assign(text.substr(open + 1, close - open - 1));
  // Fields from 3 (state) on, split on single spaces: index i is field i+3.
  constexpr int kState = 0, kPpid = 1, kStartTime = 19, kRss = 21;
  std::string_view rest = text.substr(close + 1);
  int index = -1;
  bool ok = true;
  uint64_t rss_pages = 0;
  while (index < kRss && ok) {
    size_t begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) break;
    rest.remove_prefix(begin);
    size_t len = std::min(rest.find_first_of(" \n"), rest.size());
    std::string_view field = rest.substr(0, len);
    rest.remove_prefix(len);
    switch (++index) {
      case kState:
        ok = field.size() == 1;
        if (ok) st.state = field[0];
        break;
      case kPpid:
        ok = ParseNumber(field, &st.ppid);
        break;
      case kStartTime:
        ok = ParseNumber(field, &st.start_time);
        break;
      case kRss:
        ok = ParseNumber(field, &rss_pages);
        break;
    }
  }
  if (!ok || index < kRss) return Status::Error("malformed stat");
  static const uint64_t kPageSize =
      static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  st.rss_bytes = rss_pages * kPageSize;
  return st;
}

Result<ProcStat> ReadProcStat(pid_t pid, const std::string& proc_root) {
  if (pid <= 0) return Status::Error("invalid pid " + std::to_string(pid));
  char buf[1024];
  ssize_t n = ReadProcFile(proc_root, pid, "stat", buf, sizeof(buf));
  if (n < 0) return Status::Error("no process " + std::to_string(pid));
  return ParseProcStat(std::string_view(buf, static_cast<size_t>(n)));
}

Result<uint64_t> ReadRssBytes(pid_t pid, const std::string& proc_root) {
  // statm is the cheapest file the kernel has with it: "size resident ...",
  // in pages. Zombies and kernel threads show 0.
  char buf[256];
  ssize_t n = ReadProcFile(proc_root, pid, "statm", buf, sizeof(buf) - 1);
  if (n < 0) return Status::Error("no process " + std::to_string(pid));
  buf[n] = '\0';
  char* end = nullptr;
  strtoull(buf, &end, 10);
  uint64_t pages = strtoull(end, nullptr, 10);
  static const uint64_t kPageSize =
      static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return pages * kPageSize;
}

std::vector<pid_t> ReadDescendants(pid_t pid, size_t max,
                                   const std::string& proc_root) {
  std::vector<pid_t> out;
  std::vector<pid_t> todo = {pid};
  while (!todo.empty() && out.size() < max) {
    pid_t p = todo.back();
    todo.pop_back();
    // A child belongs to the thread that forked it: read every thread's list.
    const std::string task_dir = proc_root + "/" + std::to_string(p) + "/task";
    DIR* dir = opendir(task_dir.c_str());
    if (dir == nullptr) continue;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] == '.') continue;
      std::string children;
      if (!Slurp(task_dir + "/" + entry->d_name + "/children", &children)) {
        continue;
      }
      // "123 456 ": pids, each followed by a space.
      const char* at = children.data();
      const char* end = at + children.size();
      while (at < end) {
        pid_t child = 0;
        auto [next, ec] = std::from_chars(at, end, child);
        if (ec == std::errc() && child > 0) {
          out.push_back(child);
          todo.push_back(child);
        }
        at = next + 1;
      }
    }
    closedir(dir);
  }
  if (out.size() > max) out.resize(max);
  return out;
}

double ProcessUptimeSeconds(uint64_t start_time) {
  // /proc/uptime is this clock, read without a file.
  timespec now{};
  if (clock_gettime(CLOCK_BOOTTIME, &now) != 0) return 0;
  double up =
      static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
  static const long kTicks = sysconf(_SC_CLK_TCK);
  double started =
      static_cast<double>(start_time) / static_cast<double>(kTicks);
  return up > started ? up - started : 0;
}

const char* ProcStateName(char state) {
  switch (state) {
    case 'R':
      return "running";
    case 'S':
      return "sleeping";
    case 'D':
      return "disk sleep";
    case 'T':
      return "stopped";
    case 't':
      return "tracing stop";
    case 'Z':
      return "zombie";
    case 'X':
      return "dead";
    case 'I':
      return "idle";
    default:
      return "unknown";
  }
}

Result<pid_t> ReadPidfile(const std::string& path) {
  auto contents = ReadStampedPidfile(path, geteuid());
  if (!contents.ok()) return contents.status();
  return contents->pid;
}

Result<FileStamp> StampFile(const std::string& path) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) {
    return Status::Error("cannot stat " + path + ": " + strerror(errno));
  }
  return StampOf(sb);
}

Result<PidfileContents> ReadStampedPidfile(const std::string& path,
                                           uid_t trusted_uid) {
  struct stat sb;
  auto fd = OpenRegularFile(path, "pidfile", &sb);
  if (!fd.ok()) return fd.status();
  char buf[4096];
  ssize_t n = read(*fd, buf, sizeof(buf));
  const int error = errno;
  close(*fd);
  if (n < 0) {
    return Status::Error("cannot read pidfile " + path + ": " +
                         strerror(error));
  }
  // One read() has all of a regular file this small; one that fills the
  // buffer is no pidfile.
  if (static_cast<size_t>(n) == sizeof(buf)) {
    return Status::Error("pidfile " + path + " holds no pid");
  }
  auto pid = ParsePidfile(std::string_view(buf, static_cast<size_t>(n)), path);
  if (!pid.ok()) return pid.status();
  return PidfileContents{*pid, StampOf(sb), sb.st_uid,
                         UntrustedBecause(path, sb, trusted_uid)};
}

Result<ProcessUids> ReadProcessUids(pid_t pid, const std::string& proc_root) {
  char buf[4096];
  ssize_t n = ReadProcFile(proc_root, pid, "status", buf, sizeof(buf) - 1);
  if (n <= 0) return Status::Error("pid " + std::to_string(pid) + " is gone");
  std::string_view text(buf, static_cast<size_t>(n));
  size_t at = text.find("\nUid:");
  if (at == std::string_view::npos) {
    return Status::Error("no Uid line in status of pid " + std::to_string(pid));
  }
  // "Uid:\treal\teffective\tsaved\tfs"
  ProcessUids uids;
  const char* p = text.data() + at + 5;
  const char* end = text.data() + text.size();
  uint32_t* fields[] = {&uids.real, &uids.effective};
  for (uint32_t* field : fields) {
    while (p < end && (*p == ' ' || *p == '\t')) ++p;
    auto [next, ec] = std::from_chars(p, end, *field);
    if (ec != std::errc()) {
      return Status::Error("bad Uid line in status of pid " +
                           std::to_string(pid));
    }
    p = next;
  }
  return uids;
}

}  // namespace watchd
