// The control socket's protocol on any line, from both ends: the daemon's
// ParseControlRequest and watchctl's ReadReplyHeader. Replies built by the
// daemon's own writers from the line must read back through the client's
// reader: an OkReply echoing a request as ok, an ErrorReply carrying the
// line as its code and message unchanged when it is valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "control/protocol.h"
#include "control/reply_header.h"
#include "fuzz/fuzz_check.h"

namespace {

// One line, as the socket frames it.
bool IsOneLine(const std::string& reply) {
  return !reply.empty() && reply.find('\n') == reply.size() - 1;
}

bool IsValidUtf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);

  watchd::Result<watchd::ControlRequest> request =
      watchd::ParseControlRequest(line);
  if (request.ok()) {
    FUZZ_CHECK(!request->cmd.empty());
    FUZZ_CHECK(request->args.is_object());
    (void)watchd::IsActingCommand(request->cmd);
    const std::string ok = watchd::OkReply(request->args);
    FUZZ_CHECK(IsOneLine(ok));
    std::optional<watchd::ReplyHeader> header = watchd::ReadReplyHeader(ok);
    FUZZ_CHECK(header.has_value() && header->ok);
  } else {
    FUZZ_CHECK(!request.status().message().empty());
  }

  (void)watchd::ReadReplyHeader(line);

  const std::string error = watchd::ErrorReply(line, line);
  FUZZ_CHECK(IsOneLine(error));
  std::optional<watchd::ReplyHeader> error_header =
      watchd::ReadReplyHeader(error);
  FUZZ_CHECK(error_header.has_value() && !error_header->ok);
  if (IsValidUtf8(line)) {
    FUZZ_CHECK(error_header->error_code == line);
    FUZZ_CHECK(error_header->error_message == line);
  }
  return 0;
}
