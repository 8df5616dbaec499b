// Where watchctl finds the control socket when none is given: the
// `daemon.control_socket` of watchd's config file.
#ifndef WATCHD_WATCHCTL_CONFIG_SOCKET_H_
#define WATCHD_WATCHCTL_CONFIG_SOCKET_H_

#include <string>

#include "core/status.h"

namespace watchd {

// The top-level `daemon:` block of a config file's text (its line and the
// indented, blank and comment lines after it), or "" when no line starts
// with `daemon:`.
std::string DaemonBlock(const std::string& text);

// `daemon.control_socket` of the config file at `path`, or "" when it
// names none; an error when the file cannot be read or is not YAML. Only
// the `daemon:` block is parsed when it stands alone: yaml-cpp takes ~0.2 s
// over a file of 10,000 services, which is most of `monit summary`'s time.
Result<std::string> SocketFromConfig(const std::string& path);

}  // namespace watchd

#endif  // WATCHD_WATCHCTL_CONFIG_SOCKET_H_
