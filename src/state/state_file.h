// The state file on disk (daemon.state_file): read once at start, replaced
// atomically on every save, so that a reader, a crash or a power cut finds
// the old version or the new one, never a mix. A file watchd cannot use is
// moved aside with a timestamp, never deleted and never fatal.
#ifndef WATCHD_STATE_STATE_FILE_H_
#define WATCHD_STATE_STATE_FILE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "state/saved_state.h"

namespace watchd {

class StateFile {
 public:
  // Larger than any state watchd writes (10,000 services of ten checks
  // each take 11 MiB): a larger file is not read.
  static constexpr int64_t kMaxBytes = 64 << 20;

  explicit StateFile(std::string path);

  const std::string& path() const { return path_; }

  struct Loaded {
    // A good file's state; none when there is no file, or a bad one.
    std::optional<SavedState> state;
    // Ok when the state was read or there was no file; else why not,
    // naming the path: a bad file ("state file PATH: version 999 is not
    // supported ...", "state file PATH is a FIFO, not a regular file",
    // "cannot read state file PATH: Permission denied"), or a directory
    // that cannot hold it ("state file PATH: its directory D does not
    // exist").
    Status problem;
    // Where a bad file was moved; empty when none was (or the move
    // failed: the log says why).
    std::string set_aside;
  };
  // Reads and parses the file without following a symlink and without
  // blocking on a FIFO. Anything at the path that cannot be used (a bad
  // text, not a regular file, unreadable, too large) is set aside
  // (SetAside) and logged as a warning, so that the next Save works; a
  // missing directory is logged and left to Save to report. `now` names
  // the set-aside file.
  Loaded Load(WallTime now) const;

  // Renames whatever is at the path to PATH.bad-YYYYMMDDTHHMMSSZ (`now` in
  // UTC), or PATH.bad-YYYYMMDDTHHMMSSZ-N when that is taken; the new path.
  Result<std::string> SetAside(WallTime now) const;

  // Replaces the file with `text`: written to PATH.tmp (mode 0600, a
  // leftover from a crash is replaced), fsync'ed, renamed over PATH, and
  // the directory fsync'ed so the rename itself survives a power cut.
  // Blocks for the fsyncs: call it off the loop (StateWriter), and never
  // twice at once for one path.
  Status Save(const std::string& text) const;

 private:
  Result<SavedState> Read() const;

  std::string path_;
  std::string dir_;
};

}  // namespace watchd

#endif  // WATCHD_STATE_STATE_FILE_H_
