// Placeholders in commands and templates ({program}, {service}, ...):
// reported when misspelt, and in argv only as whole arguments, so that a
// substituted value can never split, extend or reshape an argument.
#ifndef WATCHD_CONFIG_PLACEHOLDERS_H_
#define WATCHD_CONFIG_PLACEHOLDERS_H_

#include <cstdint>
#include <span>
#include <string_view>

namespace watchd {

class NodeReader;

// Reports each argument of the argv list at `argv_node` that holds one of
// `names` (written without braces) inside other text, or that looks like
// a placeholder but names none of them.
void CheckArgvPlaceholders(NodeReader& reader, uint32_t argv_node,
                           std::span<const std::string_view> names);

// Reports each {word} of the text at `node` whose word (letters and '_')
// is not one of `names`; other text in braces is left alone.
void CheckTextPlaceholders(NodeReader& reader, uint32_t node,
                           std::string_view text,
                           std::span<const std::string_view> names);

}  // namespace watchd

#endif  // WATCHD_CONFIG_PLACEHOLDERS_H_
