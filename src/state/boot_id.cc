#include "state/boot_id.h"

#include <fstream>

#include "state/saved_state.h"

namespace watchd {

Result<std::string> ReadBootId(const std::string& path) {
  std::ifstream in(path);
  std::string id;
  if (!in || !std::getline(in, id)) {
    return Status::Error("cannot read the boot id from " + path);
  }
  if (!IsBootId(id)) {
    return Status::Error(path + " does not hold a boot id");
  }
  return id;
}

}  // namespace watchd
