// The control socket's protocol (docs/control.md): one JSON object per
// line each way. A request names a command and the protocol version; a
// reply says ok or carries an error code and message. Pure functions, no I/O.
#ifndef WATCHD_CONTROL_PROTOCOL_H_
#define WATCHD_CONTROL_PROTOCOL_H_

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace watchd {

inline constexpr int kControlProtocolVersion = 1;
// A request line longer than this is refused (and the connection closed).
inline constexpr size_t kMaxRequestBytes = 64 * 1024;

struct ControlRequest {
  std::string cmd;
  nlohmann::json args;  // the whole request object
};

// Error codes of a reply; watchctl maps them to its exit codes.
inline constexpr char kErrBadRequest[] = "bad_request";
inline constexpr char kErrUnknownCommand[] = "unknown_command";
inline constexpr char kErrUnknownService[] = "unknown_service";
inline constexpr char kErrPermission[] = "permission_denied";
inline constexpr char kErrFailed[] = "failed";
inline constexpr char kErrUnavailable[] = "unavailable";

// Parses one request line (without its newline). Errors name what is wrong
// in words a script author can act on.
Result<ControlRequest> ParseControlRequest(const std::string& line);

// Whether `cmd` changes what watchd does: open only to root and watchd's
// own uid. Read commands (status, summary, version) are open to the
// socket's group.
bool IsActingCommand(const std::string& cmd);

// A reply line, newline included.
std::string OkReply(nlohmann::json body = nlohmann::json::object());
std::string ErrorReply(const std::string& code, const std::string& message);

}  // namespace watchd

#endif  // WATCHD_CONTROL_PROTOCOL_H_
