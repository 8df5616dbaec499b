#include "control/protocol.h"

#include <string_view>

namespace watchd {
namespace {

constexpr std::string_view kActing[] = {"restart", "pause", "resume", "reload",
                                        "ping"};

}  // namespace

Result<ControlRequest> ParseControlRequest(const std::string& line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded()) return Status::Error("request is not valid JSON");
  if (!j.is_object()) return Status::Error("request is not a JSON object");
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer()) {
    return Status::Error("request has no protocol version \"v\"");
  }
  if (*v != kControlProtocolVersion) {
    return Status::Error("protocol version " + v->dump() +
                         " is not supported (this watchd speaks " +
                         std::to_string(kControlProtocolVersion) + ")");
  }
  auto cmd = j.find("cmd");
  if (cmd == j.end() || !cmd->is_string() ||
      cmd->get_ref<const std::string&>().empty()) {
    return Status::Error("request has no command \"cmd\"");
  }
  ControlRequest req;
  req.cmd = cmd->get<std::string>();
  req.args = std::move(j);
  return req;
}

bool IsActingCommand(const std::string& cmd) {
  for (std::string_view a : kActing) {
    if (cmd == a) return true;
  }
  return false;
}

std::string OkReply(nlohmann::json body) {
  body["v"] = kControlProtocolVersion;
  body["ok"] = true;
  // Names and reasons come from configs and the network: never let a
  // stray byte make the line unparseable.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

std::string ErrorReply(const std::string& code, const std::string& message) {
  nlohmann::json body = {{"v", kControlProtocolVersion},
                         {"ok", false},
                         {"error", {{"code", code}, {"message", message}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace watchd
