#include "watchctl/config_socket.h"

#include <yaml-cpp/yaml.h>

#include "config/file_reader.h"

namespace watchd {

std::string DaemonBlock(const std::string& text) {
  size_t at;
  if (text.compare(0, 7, "daemon:") == 0) {
    at = 0;
  } else {
    at = text.find("\ndaemon:");
    if (at == std::string::npos) return "";
    ++at;
  }
  // The block goes on while lines are indented, blank or comments.
  size_t end = at;
  for (;;) {
    end = text.find('\n', end);
    if (end == std::string::npos) return text.substr(at);
    ++end;
    if (end == text.size()) break;
    const char c = text[end];
    if (c != ' ' && c != '\t' && c != '#' && c != '\n' && c != '\r') break;
  }
  return text.substr(at, end - at);
}

Result<std::string> SocketFromConfig(const std::string& path) {
  Result<std::string> text = ReadConfigFile(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status();
  try {
    YAML::Node root;
    const std::string block = DaemonBlock(*text);
    try {
      if (!block.empty()) root = YAML::Load(block);
    } catch (const YAML::Exception&) {
      // A block that does not stand alone (an alias to elsewhere): the
      // whole file is read below, as watchd reads it.
    }
    if (!root.IsMap() || !root["daemon"]) root = YAML::Load(*text);
    if (!root.IsMap()) return std::string();
    YAML::Node d = root["daemon"];
    if (d && d.IsMap() && d["control_socket"] &&
        d["control_socket"].IsScalar()) {
      return d["control_socket"].as<std::string>();
    }
    return std::string();
  } catch (const YAML::Exception& e) {
    return Status::Error("cannot read " + path + ": " + e.what());
  }
}

}  // namespace watchd
