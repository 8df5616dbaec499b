#include "core/state_order.h"

#include <iterator>

namespace watchd {

int StateSeverity(std::string_view state) {
  for (size_t i = 0; i < std::size(kStatesWorstFirst); ++i) {
    if (state == kStatesWorstFirst[i]) return static_cast<int>(i);
  }
  return StateSeverity("unknown");
}

}  // namespace watchd
