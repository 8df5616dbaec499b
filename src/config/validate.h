// Checks across files, once every file is read: names that refer to
// supervisors, services and notify targets exist, dependencies have no cycle,
// and process and memory checks have a way to learn the pid.
#ifndef WATCHD_CONFIG_VALIDATE_H_
#define WATCHD_CONFIG_VALIDATE_H_

#include <vector>

#include "config/config.h"
#include "config/notify_parser.h"
#include "config/service_parser.h"

namespace watchd {

class Diagnostics;

// `refs` is parallel to config.services.
void ValidateReferences(const Config& config,
                        const std::vector<ServiceRefs>& refs,
                        const NotifyRefs& notify_refs, Diagnostics* diag);

}  // namespace watchd

#endif  // WATCHD_CONFIG_VALIDATE_H_
