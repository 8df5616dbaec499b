// Opening files that someone else may have made: a FIFO, a device or a
// symlink in place of a regular file must give an error, never block the
// loop or lead elsewhere; and whether a path can be trusted to say what
// root should act on (who could have written or replaced it).
#ifndef WATCHD_OS_SAFE_FILE_H_
#define WATCHD_OS_SAFE_FILE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

#include "core/status.h"

namespace watchd {

// "a FIFO", "a directory", "a socket", "a character device", ... for the
// type bits of st_mode.
const char* FileTypeName(mode_t mode);

// A read-only fd of the regular file at `path` (the last component is not
// followed if it is a symlink), opened without blocking (O_NONBLOCK) and
// without becoming a controlling terminal; `st` gets its fstat. Errors
// read "`what` PATH is a FIFO, not a regular file", "... is a symbolic
// link", "cannot read `what` PATH: No such file or directory".
Result<int> OpenRegularFile(const std::string& path, const char* what,
                            struct stat* st);

// Why the file at `path` (already opened, stat `st`) could have been
// written or replaced by a user other than root or `trusted_uid`: the file
// is owned by another user or writable by group or others, or a directory
// on its path is owned by another user or writable by group or others
// without the sticky bit. Empty when it could not.
std::string UntrustedBecause(const std::string& path, const struct stat& st,
                             uid_t trusted_uid);

}  // namespace watchd

#endif  // WATCHD_OS_SAFE_FILE_H_
