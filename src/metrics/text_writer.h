// TextWriter: the Prometheus text exposition format (version 0.0.4),
// formatted into a fixed buffer that is handed to a sink each time it
// fills, so that writing any number of series takes the same memory.
#ifndef WATCHD_METRICS_TEXT_WRITER_H_
#define WATCHD_METRICS_TEXT_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

namespace watchd {

struct MetricLabel {
  std::string_view name;
  std::string_view value;  // any bytes: escaped as the format requires
};

enum class MetricType { kCounter, kGauge, kHistogram };

class TextWriter {
 public:
  // Takes the text in order, in pieces of at most the buffer size; false
  // stops the writing (the client went away).
  using Sink = std::function<bool(std::string_view)>;

  explicit TextWriter(Sink sink, size_t buffer_size = 64 * 1024);
  ~TextWriter();
  TextWriter(const TextWriter&) = delete;
  TextWriter& operator=(const TextWriter&) = delete;

  // Starts a family; `name` and `help` must outlive it (literals). Its
  // HELP and TYPE lines come with its first sample: a family without
  // samples writes nothing.
  void Family(std::string_view name, std::string_view help, MetricType type);
  // A sample of the current family. A double is written as an integer if
  // it is one below 2^53, else in the shortest form that reads back
  // exactly; NaN, +Inf and -Inf as the format spells them.
  void Sample(std::span<const MetricLabel> labels, double value);
  void Sample(std::initializer_list<MetricLabel> labels, double value) {
    Sample(std::span<const MetricLabel>(labels.begin(), labels.size()), value);
  }
  // Exact for counts beyond 2^53.
  void Sample(std::span<const MetricLabel> labels, uint64_t value);
  void Sample(std::initializer_list<MetricLabel> labels, uint64_t value) {
    Sample(std::span<const MetricLabel>(labels.begin(), labels.size()), value);
  }
  // The _bucket, _sum and _count samples of one histogram of the current
  // family: `cumulative` has one count per bound, then the +Inf one.
  void Histogram(std::span<const MetricLabel> labels,
                 std::span<const double> bounds,
                 std::span<const uint64_t> cumulative, double sum);

  // Hands what is buffered to the sink; returns ok(). Call it last: the
  // destructor drops what is left.
  bool Flush();
  // False once the sink refused: what follows is dropped, and writers of
  // many series stop early.
  bool ok() const { return ok_; }

 private:
  void Append(std::string_view text) {
    if (text.size() <= capacity_ - size_) {
      std::memcpy(buffer_.get() + size_, text.data(), text.size());
      size_ += text.size();
    } else {
      AppendInPieces(text);
    }
  }
  void AppendInPieces(std::string_view text);
  void AppendEscaped(std::string_view text, bool quotes);
  void AppendDouble(double value);
  void AppendUint(uint64_t value);
  // Writes the name and labels of a sample, and the space before its value.
  void BeginSample(std::string_view suffix, std::span<const MetricLabel> labels,
                   const MetricLabel* extra = nullptr);

  Sink sink_;
  std::unique_ptr<char[]> buffer_;
  size_t capacity_;
  size_t size_ = 0;
  bool ok_ = true;
  // The current family; its header is pending until its first sample.
  std::string_view family_;
  std::string_view help_;
  MetricType type_ = MetricType::kGauge;
  bool header_pending_ = false;
};

}  // namespace watchd

#endif  // WATCHD_METRICS_TEXT_WRITER_H_
