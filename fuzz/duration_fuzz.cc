// ParseDuration on any text: never crashes, stays within [0, the maximum],
// and what it accepts FormatDuration writes back in a form that parses to
// the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/duration.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  watchd::Result<watchd::Duration> d = watchd::ParseDuration(text);
  if (!d.ok()) {
    FUZZ_CHECK(!d.status().message().empty());
    return 0;
  }
  FUZZ_CHECK(d->count() >= 0);
  FUZZ_CHECK(*d <= watchd::kMaxConfigDuration);
  const std::string formatted = watchd::FormatDuration(*d);
  watchd::Result<watchd::Duration> again = watchd::ParseDuration(formatted);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *d);
  FUZZ_CHECK(watchd::FormatDuration(*again) == formatted);
  return 0;
}
