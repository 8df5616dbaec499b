#include "config/defaults.h"

#include <optional>

#include "config/check_parser.h"
#include "config/node_reader.h"
#include "config/service_parser.h"

namespace watchd {
namespace {

constexpr auto kDefaultsKeys = ConcatKeys(kCheckKeys, kServiceDefaultKeys);

}  // namespace

ConfigDefaults ParseDefaults(NodeReader& reader, uint32_t node) {
  ConfigDefaults defaults;
  std::optional<uint32_t> interval_node;
  std::optional<uint32_t> timeout_node;
  reader.ForEachField(node, kDefaultsKeys, [&](const NodeReader::Field& f) {
    if (f.index < kCheckKeys.size()) {
      ReadCheckKey(reader, f.index, f.value, &defaults.check);
      if (kCheckKeys[f.index] == "interval") interval_node = f.value;
      if (kCheckKeys[f.index] == "timeout") timeout_node = f.value;
    } else {
      ReadServiceDefaultKey(reader, f.index - kCheckKeys.size(), f.value,
                            &defaults.service);
    }
  });
  // As on a check: a written timeout must fit; the built-in one is capped.
  if (timeout_node) {
    CheckTimeoutFitsInterval(reader, defaults.check, *timeout_node);
  } else if (defaults.check.timeout > defaults.check.interval) {
    defaults.check.timeout = defaults.check.interval;
  }
  return defaults;
}

}  // namespace watchd
