// Argument templates of the `command` supervisor: placeholders such as
// {program}, {service} and {pid} stand for whole arguments only.
#ifndef WATCHD_ACTIONS_ARGV_TEMPLATE_H_
#define WATCHD_ACTIONS_ARGV_TEMPLATE_H_

#include <map>
#include <string>
#include <vector>

namespace watchd {

// Replaces every argument that is exactly "{name}", with `name` a key of
// vars (keys are written without braces: {"pid", "42"}). Nothing is spliced
// inside an argument ("x{pid}" and "{pid}.log" stay as written), so a value
// can never add, split or reshape arguments; unknown placeholders also stay
// as written, for config validation to report.
std::vector<std::string> SubstituteArgs(
    const std::vector<std::string>& tmpl,
    const std::map<std::string, std::string>& vars);

}  // namespace watchd

#endif  // WATCHD_ACTIONS_ARGV_TEMPLATE_H_
