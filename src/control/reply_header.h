// What watchctl decides on in a reply (ok, the error, the services counted
// by state), read without building the rest: a status of 10,000 services
// is 6 MB that `watchctl status --json` passes through untouched.
#ifndef WATCHD_CONTROL_REPLY_HEADER_H_
#define WATCHD_CONTROL_REPLY_HEADER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace watchd {

struct ReplyHeader {
  bool ok = false;
  std::string error_code;     // "" unless !ok
  std::string error_message;  // "" unless !ok
  // status/summary: the shown services by state. From the reply's
  // "states", or counted from "services" when the daemon sent none.
  std::map<std::string, int64_t> states;
};

// Reads `line` only as far as it must: up to "services" when "states"
// came first (as watchd writes them). nullopt when it is not a reply
// (not a JSON object with a boolean "ok").
std::optional<ReplyHeader> ReadReplyHeader(std::string_view line);

}  // namespace watchd

#endif  // WATCHD_CONTROL_REPLY_HEADER_H_
