#include "config/config.h"

#include "config/probe_parser.h"

namespace watchd {

const char* ProbeKindName(const ProbeConfig& probe) {
  // kProbeKinds are literals, so their data is NUL-terminated.
  return kProbeKinds[probe.index()].data();
}

}  // namespace watchd
