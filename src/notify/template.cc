#include "notify/template.h"

namespace watchd {

std::string RenderText(std::string_view text, const Notification& n) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    size_t open = text.find('{', at);
    if (open == std::string_view::npos) break;
    size_t close = text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(open + 1, close - open - 1);
    bool known = false;
    for (std::string_view field : kNotifyFields) known = known || field == name;
    out.append(text.substr(at, open - at));
    if (known) {
      out += FieldValue(n, name);
      at = close + 1;
    } else {
      out += '{';
      at = open + 1;
    }
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace watchd
