#include "metrics/text_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

namespace watchd {
namespace {

constexpr size_t kNumberSize = 32;  // the longest double is 24 characters

// Writes `value` into `out` (kNumberSize bytes); returns its length.
size_t FormatDouble(double value, char* out) {
  std::string_view special;
  if (std::isnan(value)) {
    special = "NaN";
  } else if (std::isinf(value)) {
    special = value > 0 ? "+Inf" : "-Inf";
  }
  if (!special.empty()) {
    std::memcpy(out, special.data(), special.size());
    return special.size();
  }
  std::to_chars_result r;
  double magnitude = std::fabs(value);
  if (value == std::trunc(value) && magnitude < 9007199254740992.0) {
    // Below 2^53 every integer is exact: "1900000000", not "1.9e+09".
    r = std::to_chars(out, out + kNumberSize, static_cast<int64_t>(value));
  } else {
    // The shortest digits that read back exactly, without an exponent in
    // the range people read at a glance ("0.0001", "1900000000.5").
    r = std::to_chars(out, out + kNumberSize, value,
                      magnitude >= 1e-4 && magnitude < 1e15
                          ? std::chars_format::fixed
                          : std::chars_format::scientific);
  }
  return static_cast<size_t>(r.ptr - out);
}

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

TextWriter::TextWriter(Sink sink, size_t buffer_size)
    : sink_(std::move(sink)),
      buffer_(new char[buffer_size]),
      capacity_(buffer_size) {}

TextWriter::~TextWriter() = default;

void TextWriter::Family(std::string_view name, std::string_view help,
                        MetricType type) {
  family_ = name;
  help_ = help;
  type_ = type;
  header_pending_ = true;
}

void TextWriter::Sample(std::span<const MetricLabel> labels, double value) {
  BeginSample("", labels);
  AppendDouble(value);
  Append("\n");
}

void TextWriter::Sample(std::span<const MetricLabel> labels, uint64_t value) {
  BeginSample("", labels);
  AppendUint(value);
  Append("\n");
}

void TextWriter::Histogram(std::span<const MetricLabel> labels,
                           std::span<const double> bounds,
                           std::span<const uint64_t> cumulative, double sum) {
  char bound[kNumberSize];
  for (size_t i = 0; i < cumulative.size(); ++i) {
    MetricLabel le{"le", "+Inf"};
    if (i < bounds.size()) le.value = {bound, FormatDouble(bounds[i], bound)};
    BeginSample("_bucket", labels, &le);
    AppendUint(cumulative[i]);
    Append("\n");
  }
  BeginSample("_sum", labels);
  AppendDouble(sum);
  Append("\n");
  BeginSample("_count", labels);
  AppendUint(cumulative.empty() ? 0 : cumulative.back());
  Append("\n");
}

bool TextWriter::Flush() {
  if (size_ > 0 && ok_) ok_ = sink_(std::string_view(buffer_.get(), size_));
  size_ = 0;
  return ok_;
}

void TextWriter::AppendInPieces(std::string_view text) {
  while (!text.empty()) {
    if (size_ == capacity_) Flush();
    size_t n = std::min(capacity_ - size_, text.size());
    std::memcpy(buffer_.get() + size_, text.data(), n);
    size_ += n;
    text.remove_prefix(n);
  }
}

// Label values escape \, " and newline; HELP texts only \ and newline.
void TextWriter::AppendEscaped(std::string_view text, bool quotes) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    std::string_view escape;
    if (text[i] == '\\') {
      escape = "\\\\";
    } else if (text[i] == '\n') {
      escape = "\\n";
    } else if (text[i] == '"' && quotes) {
      escape = "\\\"";
    } else {
      continue;
    }
    Append(text.substr(start, i - start));
    Append(escape);
    start = i + 1;
  }
  Append(text.substr(start));
}

void TextWriter::AppendDouble(double value) {
  char text[kNumberSize];
  Append({text, FormatDouble(value, text)});
}

void TextWriter::AppendUint(uint64_t value) {
  char text[kNumberSize];
  auto r = std::to_chars(text, text + sizeof(text), value);
  Append({text, static_cast<size_t>(r.ptr - text)});
}

void TextWriter::BeginSample(std::string_view suffix,
                             std::span<const MetricLabel> labels,
                             const MetricLabel* extra) {
  if (header_pending_) {
    header_pending_ = false;
    Append("# HELP ");
    Append(family_);
    Append(" ");
    AppendEscaped(help_, false);
    Append("\n# TYPE ");
    Append(family_);
    Append(" ");
    Append(TypeName(type_));
    Append("\n");
  }
  Append(family_);
  Append(suffix);
  if (!labels.empty() || extra != nullptr) {
    char separator = '{';
    auto label = [&](const MetricLabel& l) {
      Append({&separator, 1});
      Append(l.name);
      Append("=\"");
      AppendEscaped(l.value, true);
      Append("\"");
      separator = ',';
    };
    for (const MetricLabel& l : labels) label(l);
    if (extra != nullptr) label(*extra);
    Append("}");
  }
  Append(" ");
}

}  // namespace watchd
