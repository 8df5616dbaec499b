#include "actions/argv_template.h"

namespace watchd {

std::vector<std::string> SubstituteArgs(
    const std::vector<std::string>& tmpl,
    const std::map<std::string, std::string>& vars) {
  std::vector<std::string> out;
  out.reserve(tmpl.size());
  for (const std::string& arg : tmpl) {
    if (arg.size() > 2 && arg.front() == '{' && arg.back() == '}') {
      auto it = vars.find(arg.substr(1, arg.size() - 2));
      if (it != vars.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    out.push_back(arg);
  }
  return out;
}

}  // namespace watchd
