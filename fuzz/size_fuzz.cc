// ParseSize on any text: never crashes, and a size it accepts reads the
// same written as plain bytes and, where it divides evenly, in each unit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/size.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  watchd::Result<uint64_t> bytes = watchd::ParseSize(text);
  if (!bytes.ok()) {
    FUZZ_CHECK(!bytes.status().message().empty());
    return 0;
  }
  watchd::Result<uint64_t> plain = watchd::ParseSize(std::to_string(*bytes));
  FUZZ_CHECK(plain.ok() && *plain == *bytes);
  static constexpr struct {
    const char* name;
    uint64_t bytes;
  } kUnits[] = {{"kB", 1'000}, {"MB", 1'000'000}, {"GiB", uint64_t{1} << 30}};
  for (const auto& unit : kUnits) {
    if (*bytes % unit.bytes != 0) continue;
    watchd::Result<uint64_t> scaled =
        watchd::ParseSize(std::to_string(*bytes / unit.bytes) + unit.name);
    FUZZ_CHECK(scaled.ok() && *scaled == *bytes);
  }
  return 0;
}
