// Where watchd's log lines go and how they look: to `daemon.log_file`
// (appended, reopened on demand for logrotate); to journald when stderr is
// its stream (a "<N>" priority on each line and no timestamp: journald
// records both); else to stderr with timestamps.
#ifndef WATCHD_DAEMON_LOG_SETUP_H_
#define WATCHD_DAEMON_LOG_SETUP_H_

#include "config/config.h"
#include "core/status.h"

namespace watchd {

// True when JOURNAL_STREAM names stderr's device and inode: systemd
// connected stderr to journald and nobody has redirected it since.
bool StderrIsJournal();

// Makes spdlog's default logger write where `daemon` says, at its level.
// A log file is opened O_APPEND and created 0640; one that cannot be
// opened is an error naming it and why.
Status SetUpLogging(const DaemonConfig& daemon);

// A reload's log_level, for the default logger.
void SetLogLevel(LogLevel level);

// Opens the default logger's log file again at its path (logrotate moved
// it away): later lines go to the new file. Nothing to do without a log
// file. On an error the old file stays in use.
Status ReopenLogFile();

}  // namespace watchd

#endif  // WATCHD_DAEMON_LOG_SETUP_H_
