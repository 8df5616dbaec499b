#include "core/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace watchd {
namespace {

// Plain read() calls: /proc files are read thousands of times a second
// with 1,000 supervised services, and streams cost more than the read.
bool Slurp(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
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

}  // namespace

Result<ProcStat> ParseProcStat(const std::string& text) {
  // "pid (comm) state ppid ..." where comm may contain ") (": the last ')'
  // ends it.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return Status::Error("malformed stat");
  }
  ProcStat st;
  st.pid = static_cast<pid_t>(strtol(text.c_str(), nullptr, 10));
  st.comm = text.substr(open + 1, close - open - 1);
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  std::string f;
  while (rest >> f) fields.push_back(f);
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields.size() < 20 || fields[0].size() != 1) {
    return Status::Error("malformed stat");
  }
  st.state = fields[0][0];
  st.ppid = static_cast<pid_t>(strtol(fields[1].c_str(), nullptr, 10));
  st.start_time = strtoull(fields[19].c_str(), nullptr, 10);
  return st;
}

Result<ProcStat> ReadProcStat(pid_t pid, const std::string& proc_root) {
  if (pid <= 0) return Status::Error("invalid pid " + std::to_string(pid));
  std::string text;
  if (!Slurp(proc_root + "/" + std::to_string(pid) + "/stat", &text)) {
    return Status::Error("no process " + std::to_string(pid));
  }
  return ParseProcStat(text);
}

Result<uint64_t> ReadRssBytes(pid_t pid, const std::string& proc_root) {
  // statm is the cheapest file the kernel has with it: "size resident ...",
  // in pages. Zombies and kernel threads show 0.
  std::string text;
  if (!Slurp(proc_root + "/" + std::to_string(pid) + "/statm", &text)) {
    return Status::Error("no process " + std::to_string(pid));
  }
  const char* p = text.c_str();
  char* end = nullptr;
  strtoull(p, &end, 10);
  uint64_t pages = strtoull(end, nullptr, 10);
  static const uint64_t kPageSize =
      static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return pages * kPageSize;
}

std::vector<pid_t> ReadDescendants(pid_t pid, const std::string& proc_root) {
  std::vector<pid_t> out;
  std::vector<pid_t> todo = {pid};
  // Bounded: a fork bomb must not keep the loop busy for long.
  constexpr size_t kMaxProcesses = 100000;
  while (!todo.empty() && out.size() < kMaxProcesses) {
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
      std::istringstream in(children);
      pid_t child;
      while (in >> child) {
        out.push_back(child);
        todo.push_back(child);
      }
    }
    closedir(dir);
  }
  return out;
}

double ProcessUptimeSeconds(uint64_t start_time) {
  std::string text;
  if (!Slurp("/proc/uptime", &text)) return 0;
  double up = strtod(text.c_str(), nullptr);
  static const long kTicks = sysconf(_SC_CLK_TCK);
  double started =
      static_cast<double>(start_time) / static_cast<double>(kTicks);
  return up > started ? up - started : 0;
}

double ProcessStartEpochSeconds(uint64_t start_time) {
  // Boot time does not change: read it once.
  static const double kBootTime = [] {
    std::string text;
    if (!Slurp("/proc/stat", &text)) return 0.0;
    size_t at = text.find("\nbtime ");
    return at == std::string::npos ? 0.0
                                   : strtod(text.c_str() + at + 7, nullptr);
  }();
  if (kBootTime == 0) return 0;
  static const long kTicks = sysconf(_SC_CLK_TCK);
  return kBootTime +
         static_cast<double>(start_time) / static_cast<double>(kTicks);
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
  std::string text;
  if (!Slurp(path, &text)) {
    return Status::Error("cannot read pidfile " + path + ": " +
                         strerror(errno));
  }
  size_t end = text.find_last_not_of(" \t\r\n");
  text = end == std::string::npos ? "" : text.substr(0, end + 1);
  if (text.empty() || text.size() > 10 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return Status::Error("pidfile " + path + " holds no pid");
  }
  long pid = strtol(text.c_str(), nullptr, 10);
  if (pid <= 0) return Status::Error("pidfile " + path + " holds no pid");
  return static_cast<pid_t>(pid);
}

}  // namespace watchd
