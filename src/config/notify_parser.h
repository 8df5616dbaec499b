// The top-level `notify:` section: targets (webhook, mail, command) with
// their filters, reminders, coalescing, the queue bound and retries.
#ifndef WATCHD_CONFIG_NOTIFY_PARSER_H_
#define WATCHD_CONFIG_NOTIFY_PARSER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"

namespace watchd {

class NodeReader;

// Where targets name services, checked once every file is read
// (validate.h): a name without wildcards must be a service.
struct NotifyRefs {
  struct ServiceName {
    std::string target;
    std::string name;
    SourceLocation location;
  };
  std::vector<ServiceName> service_names;
};

void ParseNotify(NodeReader& reader, uint32_t node, NotifyConfig* notify,
                 NotifyRefs* refs);

}  // namespace watchd

#endif  // WATCHD_CONFIG_NOTIFY_PARSER_H_
