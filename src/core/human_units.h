// Durations and sizes as people read them, the same in `watchctl status`
// and on the status page.
#ifndef WATCHD_CORE_HUMAN_UNITS_H_
#define WATCHD_CORE_HUMAN_UNITS_H_

#include <string>

namespace watchd {

// "4.2s" under ten seconds, else the two largest units: "45s", "3m12s",
// "2h5m", "3d4h". Negative and NaN read as 0.
std::string HumanDuration(double seconds);
// "512 B", "12.3 MiB": binary units up to TiB.
std::string HumanBytes(double bytes);

}  // namespace watchd

#endif  // WATCHD_CORE_HUMAN_UNITS_H_
