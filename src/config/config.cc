#include "config/config.h"

#include "config/probe_parser.h"

namespace watchd {

const char* ProbeKindName(const ProbeConfig& probe) {
  // kProbeKinds are literals, so their data is NUL-terminated.
  return kProbeKinds[probe.index()].data();
}

const char* NotifyEventName(NotifyEvent event) {
  return kNotifyEventNames[static_cast<size_t>(event)].data();
}

}  // namespace watchd
