// Checks the commands a configuration names against this machine: argv[0]
// of exec checks, command supervisors, systemctl and notify command targets
// must be runnable, reported at argv[0]'s place with the other errors.
#ifndef WATCHD_CONFIG_COMMANDS_H_
#define WATCHD_CONFIG_COMMANDS_H_

#include "config/config.h"

namespace watchd {

class Diagnostics;

void CheckCommands(const Config& config, Diagnostics* diag);

}  // namespace watchd

#endif  // WATCHD_CONFIG_COMMANDS_H_
