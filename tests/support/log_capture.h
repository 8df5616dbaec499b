// Capturing what watchd logs through spdlog's default logger, for tests
// that check a warning was given (and given once). Thread-safe: a worker
// thread may log while the test reads.
#ifndef WATCHD_TESTS_SUPPORT_LOG_CAPTURE_H_
#define WATCHD_TESTS_SUPPORT_LOG_CAPTURE_H_

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace watchd::testing {

class LogCapture {
 public:
  // Replaces the default logger (every level) until destroyed; keeps the
  // last `capacity` lines.
  explicit LogCapture(size_t capacity = 1000)
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(capacity)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::trace);
    logger->set_pattern("%l %v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Lines ("warning text", "info text") that contain `text`.
  int Count(const std::string& text) const {
    int n = 0;
    for (const std::string& line : sink_->last_formatted()) {
      if (line.find(text) != std::string::npos) ++n;
    }
    return n;
  }
  bool Contains(const std::string& text) const { return Count(text) > 0; }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace watchd::testing

#endif  // WATCHD_TESTS_SUPPORT_LOG_CAPTURE_H_
