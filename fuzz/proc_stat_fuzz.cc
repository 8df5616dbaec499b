// ParseProcStat on any text of the size ReadProcStat reads (its buffer is
// 1 KiB): never crashes, and what it accepts holds the comm and state
// written in the text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "os/procfs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  watchd::Result<watchd::ProcStat> st = watchd::ParseProcStat(text);
  if (!st.ok()) return 0;
  // comm may hold ") (": it runs from the first '(' to the last ')'.
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  FUZZ_CHECK(open != std::string_view::npos && close > open);
  FUZZ_CHECK(st->comm == text.substr(open + 1, close - open - 1));
  FUZZ_CHECK(text.substr(close).find(st->state) != std::string_view::npos);
  return 0;
}
