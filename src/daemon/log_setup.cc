#include "daemon/log_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace watchd {
namespace {

constexpr char kFilePattern[] = "%Y-%m-%dT%H:%M:%S.%e %l %v";
constexpr char kTerminalPattern[] = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v";

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// sd-daemon.h's prefixes, which journald turns into the entry's PRIORITY.
const char* Priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return SD_DEBUG;
    case spdlog::level::info:
      return SD_INFO;
    case spdlog::level::warn:
      return SD_WARNING;
    case spdlog::level::err:
      return SD_ERR;
    case spdlog::level::critical:
      return SD_CRIT;
    default:
      return SD_INFO;
  }
}

// A log line that cannot be written has nowhere to be reported; it is lost.
void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

Result<int> OpenLogFile(const std::string& path) {
  int fd = open(path.c_str(),
                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
  if (fd < 0) {
    return Status::Error("cannot open log file " + path + ": " +
                         strerror(errno));
  }
  return fd;
}

// stderr as journald reads it: each line is an entry of its own, so each
// line of a message carries the priority.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const char* priority = Priority(msg.level);
    std::string out;
    size_t begin = 0;
    do {
      size_t end = text.find('\n', begin);
      if (end == std::string_view::npos) end = text.size();
      out += priority;
      out += text.substr(begin, end - begin);
      out += '\n';
      begin = end + 1;
    } while (begin < text.size());
    WriteAll(STDERR_FILENO, out.data(), out.size());
  }
  void flush_() override {}
};

// Each line is one write(2) on an O_APPEND descriptor, unbuffered: a line
// is whole in the file as soon as it is logged, and after a rename by
// logrotate the lines keep going to the renamed file until Reopen.
class FileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  FileSink(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~FileSink() override { close(fd_); }

  Status Reopen() {
    Result<int> fd = OpenLogFile(path_);
    if (!fd.ok()) return fd.status();
    std::lock_guard<std::mutex> lock(mutex_);
    close(fd_);
    fd_ = *fd;
    return Status::Ok();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    WriteAll(fd_, line.data(), line.size());
  }
  void flush_() override {}

 private:
  const std::string path_;
  int fd_;
};

}  // namespace

bool StderrIsJournal() {
  const char* stream = getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  int end = 0;
  if (sscanf(stream, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
      stream[end] != '\0') {
    return false;
  }
  struct stat st;
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

Status SetUpLogging(const DaemonConfig& daemon) {
  std::shared_ptr<spdlog::logger> logger;
  if (!daemon.log_file.empty()) {
    Result<int> fd = OpenLogFile(daemon.log_file);
    if (!fd.ok()) return fd.status();
    logger = std::make_shared<spdlog::logger>(
        "watchd", std::make_shared<FileSink>(daemon.log_file, *fd));
    logger->set_pattern(kFilePattern);
  } else if (StderrIsJournal()) {
    logger = std::make_shared<spdlog::logger>("watchd",
                                              std::make_shared<JournalSink>());
  } else {
    // Colour only when stderr is a terminal (the sink checks).
    logger = std::make_shared<spdlog::logger>(
        "watchd", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    logger->set_pattern(kTerminalPattern);
  }
  spdlog::set_default_logger(logger);
  spdlog::set_level(ToSpdlog(daemon.log_level));
  return Status::Ok();
}

void SetLogLevel(LogLevel level) {
  spdlog::default_logger()->set_level(ToSpdlog(level));
}

Status ReopenLogFile() {
  for (const auto& sink : spdlog::default_logger()->sinks()) {
    if (auto file = std::dynamic_pointer_cast<FileSink>(sink)) {
      return file->Reopen();
    }
  }
  return Status::Ok();
}

}  // namespace watchd
