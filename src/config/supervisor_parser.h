// One entry of `supervisors:`: how watchd asks for a restart.
#ifndef WATCHD_CONFIG_SUPERVISOR_PARSER_H_
#define WATCHD_CONFIG_SUPERVISOR_PARSER_H_

#include <cstdint>
#include <string>

#include "config/config.h"

namespace watchd {

class NodeReader;

// The supervisor `name` (its key at `key_node`) from `node`.
SupervisorConfig ParseSupervisor(NodeReader& reader, const std::string& name,
                                 uint32_t key_node, uint32_t node);

}  // namespace watchd

#endif  // WATCHD_CONFIG_SUPERVISOR_PARSER_H_
