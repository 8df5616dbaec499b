// Reading a configuration file whole, with a size limit: the file may come
// from anyone who can write to an include directory.
#ifndef WATCHD_CONFIG_FILE_READER_H_
#define WATCHD_CONFIG_FILE_READER_H_

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "core/status.h"

namespace watchd {

inline constexpr size_t kMaxConfigFileBytes = size_t{8} << 20;

// The contents of the regular file `path`; an error naming the path if it
// cannot be read, is not a regular file, or holds more than `max_bytes`.
// `st`, when given, gets the fstat of the file read.
Result<std::string> ReadConfigFile(const std::string& path, size_t max_bytes,
                                   struct stat* st = nullptr);

// Why the configuration file at `path` (stat `st`) is refused: someone
// other than root or this process's user could have changed it, and with
// it the commands watchd runs (docs/security.md). Empty when it is fine.
std::string UntrustedConfig(const std::string& path, const struct stat& st);

// The error for a text of `size` bytes, larger than `max_bytes`.
Status FileTooLarge(const std::string& path, size_t size, size_t max_bytes);

}  // namespace watchd

#endif  // WATCHD_CONFIG_FILE_READER_H_
