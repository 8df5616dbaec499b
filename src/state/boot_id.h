// Which boot of the machine this is: a pid + start time names a process
// only within one boot, so a recorded process carries the boot id.
#ifndef WATCHD_STATE_BOOT_ID_H_
#define WATCHD_STATE_BOOT_ID_H_

#include <string>

#include "core/status.h"

namespace watchd {

// The kernel's random id of this boot (/proc/sys/kernel/random/boot_id,
// or `path` in tests), without its newline; an error when it cannot be
// read or is not of the kernel's form.
Result<std::string> ReadBootId(
    const std::string& path = "/proc/sys/kernel/random/boot_id");

}  // namespace watchd

#endif  // WATCHD_STATE_BOOT_ID_H_
