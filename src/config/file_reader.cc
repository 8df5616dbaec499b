#include "config/file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "os/safe_file.h"

namespace watchd {
namespace {

Status CannotRead(const std::string& path, const std::string& why) {
  return Status::Error("cannot read " + path + ": " + why);
}

// Closes the descriptor on every return path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Status FileTooLarge(const std::string& path, size_t size, size_t max_bytes) {
  return Status::Error(path + ": file too large (" + std::to_string(size) +
                       " bytes; the limit is " +
                       std::to_string(max_bytes >> 20) + " MiB)");
}

std::string UntrustedConfig(const std::string& path, const struct stat& st) {
  std::string absolute = path;
  if (!path.starts_with('/')) {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      return "refusing " + path +
             ": the working directory cannot be named: " + std::strerror(errno);
    }
    absolute = std::string(cwd) + "/" + path;
  }
  std::string why = UntrustedBecause(absolute, st, geteuid());
  if (why.empty()) return "";
  return "refusing " + path + ": " + why +
         "; whoever can change it can make watchd run any command. Let only "
         "root (or watchd's own user) write it and every directory above "
         "it: chown root and chmod go-w them";
}

Result<std::string> ReadConfigFile(const std::string& path, size_t max_bytes,
                                   struct stat* stat_out) {
  // O_NONBLOCK: opening a FIFO must not hang; it is refused below anyway.
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return CannotRead(path, std::strerror(errno));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return CannotRead(path, std::strerror(errno));
  if (stat_out != nullptr) *stat_out = st;
  if (S_ISDIR(st.st_mode)) return CannotRead(path, std::strerror(EISDIR));
  if (!S_ISREG(st.st_mode)) return CannotRead(path, "not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return FileTooLarge(path, static_cast<size_t>(st.st_size), max_bytes);
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t used = 0;
  // The size may change while reading: read to the end, one byte past the
  // limit at most.
  while (true) {
    if (used == text.size()) {
      if (text.size() > max_bytes)
        return FileTooLarge(path, text.size(), max_bytes);
      text.resize(
          std::min(max_bytes + 1, std::max<size_t>(4096, text.size() * 2)));
    }
    ssize_t n = read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return CannotRead(path, std::strerror(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  text.resize(used);
  if (used > max_bytes) return FileTooLarge(path, used, max_bytes);
  return text;
}

}  // namespace watchd
