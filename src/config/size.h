// Sizes as written in watchd.yaml: "512KiB", "64MiB", "2GiB" (binary),
// "500MB" (decimal), or a plain integer number of bytes.
#ifndef WATCHD_CONFIG_SIZE_H_
#define WATCHD_CONFIG_SIZE_H_

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace watchd {

// Parses `<integer>[unit]`, unit B|kB|KB|MB|GB|TB (powers of 1000) or
// KiB|MiB|GiB|TiB (powers of 1024); no unit means bytes. Errors on overflow.
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace watchd

#endif  // WATCHD_CONFIG_SIZE_H_
