// watchctl's side of the control socket: one request, one reply, blocking
// with a deadline (a CLI has nothing else to do meanwhile).
#ifndef WATCHD_CONTROL_CONTROL_CLIENT_H_
#define WATCHD_CONTROL_CONTROL_CLIENT_H_

#include <nlohmann/json.hpp>
#include <string>

#include "control/reply_header.h"
#include "core/clock.h"
#include "core/status.h"

namespace watchd {

struct ControlCall {
  enum Outcome { kReplied, kUnreachable, kBroken };
  Outcome outcome = kBroken;
  // kReplied: the reply line as sent (without its newline), and what
  // watchctl decides on, read from it.
  std::string line;
  ReplyHeader header;
  std::string error;  // otherwise: why, naming the socket
};

// Sends `request` (a JSON object; "v" is added) to the socket at `path`
// and waits up to `timeout` for the reply line. kUnreachable: nothing
// listens there (or it may not be used); kBroken: it did not answer well.
ControlCall CallControl(const std::string& path, nlohmann::json request,
                        Duration timeout);

}  // namespace watchd

#endif  // WATCHD_CONTROL_CONTROL_CLIENT_H_
