// `daemon:`: the daemon's own sockets, files and logging.
#ifndef WATCHD_CONFIG_DAEMON_PARSER_H_
#define WATCHD_CONFIG_DAEMON_PARSER_H_

#include <cstdint>

#include "config/config.h"

namespace watchd {

class NodeReader;

// Sets the keys `node` gives; the others keep their values in `daemon`.
void ParseDaemon(NodeReader& reader, uint32_t node, DaemonConfig* daemon);

}  // namespace watchd

#endif  // WATCHD_CONFIG_DAEMON_PARSER_H_
