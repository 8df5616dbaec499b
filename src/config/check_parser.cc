#include "config/check_parser.h"

#include <charconv>
#include <optional>

#include "config/duration.h"
#include "config/node_reader.h"
#include "config/probe_parser.h"

namespace watchd {
namespace {

constexpr auto kAllCheckKeys = ConcatKeys(kProbeKinds, kCheckKeys);
constexpr size_t kInterval = 0;
constexpr size_t kTimeout = 1;
constexpr size_t kOnFailure = 5;

constexpr std::string_view kOnFailureValues[] = {"alert", "restart"};
static_assert(static_cast<int>(OnFailure::kAlert) == 0 &&
              static_cast<int>(OnFailure::kRestart) == 1);

// "10%" or a fraction such as 0.1; nullopt unless within 0..1.
std::optional<double> ParseJitter(std::string_view text) {
  bool percent = !text.empty() && text.back() == '%';
  if (percent) text.remove_suffix(1);
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  if (percent) value /= 100;
  if (!(value >= 0 && value <= 1)) return std::nullopt;
  return value;
}

}  // namespace

void ReadCheckKey(NodeReader& reader, size_t key, uint32_t value,
                  CheckConfig* check) {
  switch (key) {
    case kInterval:
      if (auto d = reader.PositiveDuration(value)) check->interval = *d;
      break;
    case kTimeout:
      if (auto d = reader.PositiveDuration(value)) check->timeout = *d;
      break;
    case 2: {
      std::optional<std::string> text = reader.String(value);
      if (!text) break;
      if (std::optional<double> jitter = ParseJitter(*text)) {
        check->jitter = *jitter;
      } else {
        reader.Error(value, "invalid jitter '" + *text +
                                "': expected a percentage from 0% to 100% or "
                                "a fraction from 0 to 1");
      }
      break;
    }
    case 3:
      if (auto n = reader.Int(value, 1, 1'000'000))
        check->failures = static_cast<int>(*n);
      break;
    case 4:
      if (auto n = reader.Int(value, 1, 1'000'000))
        check->successes = static_cast<int>(*n);
      break;
    case kOnFailure:
      if (auto choice = reader.Choice(value, kOnFailureValues)) {
        check->on_failure = static_cast<OnFailure>(*choice);
      }
      break;
  }
}

void CheckTimeoutFitsInterval(NodeReader& reader, const CheckConfig& check,
                              uint32_t where) {
  if (check.timeout > check.interval) {
    reader.Error(where, "timeout " + FormatDuration(check.timeout) +
                            " is longer than the interval " +
                            FormatDuration(check.interval) +
                            ": runs of the probe would overlap");
  }
}

CheckConfig ParseCheck(NodeReader& reader, const std::string& name,
                       uint32_t key_node, uint32_t node,
                       const CheckConfig& defaults, bool supervised) {
  CheckConfig check = defaults;
  check.name = name;
  check.location = reader.Location(key_node);
  std::optional<uint32_t> probe_key;
  std::optional<uint32_t> interval_node;
  std::optional<uint32_t> timeout_node;
  std::optional<uint32_t> on_failure_node;
  reader.ForEachField(node, kAllCheckKeys, [&](const NodeReader::Field& f) {
    if (f.index < kProbeKinds.size()) {
      if (probe_key) {
        reader.Error(f.key_node,
                     "a check has exactly one probe: '" + std::string(f.key) +
                         "' comes after '" +
                         std::string(kProbeKinds[check.probe.index()]) + "'");
        return;
      }
      probe_key = f.key_node;
      check.probe = ParseProbe(reader, f.index, f.value);
      return;
    }
    size_t key = f.index - kProbeKinds.size();
    ReadCheckKey(reader, key, f.value, &check);
    if (key == kInterval) interval_node = f.value;
    if (key == kTimeout) timeout_node = f.value;
    if (key == kOnFailure) on_failure_node = f.value;
  });
  if (!probe_key && (reader.IsMap(node) || reader.IsNull(node))) {
    reader.Error(node, "check '" + name +
                           "' has no probe: give it one of http, tcp, dns, "
                           "process, memory or exec");
  }
  if (check.on_failure == OnFailure::kRestart && !supervised) {
    if (on_failure_node) {
      reader.Error(*on_failure_node,
                   "on_failure: restart needs a supervisor, and this service "
                   "has none");
    } else {
      check.on_failure = OnFailure::kAlert;
    }
  }
  // A timeout written on the check must fit its interval; an inherited one
  // is capped at it, so `interval: 1s` alone never trips the default 2s.
  if (timeout_node) {
    CheckTimeoutFitsInterval(reader, check, *timeout_node);
  } else if (check.timeout > check.interval) {
    check.timeout = check.interval;
  }
  return check;
}

}  // namespace watchd
