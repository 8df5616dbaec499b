#include "state/saved_state.h"

#include <algorithm>
#include <charconv>
#include <climits>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>

namespace watchd {
namespace {

using nlohmann::json;

constexpr char kFormat[] = "watchd-state";

// Wall times watchd reads back: wide enough for a board whose clock starts
// at 1970, narrow enough for WallTime's nanoseconds (1678-2261).
constexpr int kMinYear = 1900;
constexpr int kMaxYear = 2200;
// "2026-01-31T23:59:59.999Z"
constexpr size_t kWallTimeSize = 24;

const char* CheckStateText(SavedCheckState state) {
  switch (state) {
    case SavedCheckState::kPending:
      return "pending";
    case SavedCheckState::kPassing:
      return "passing";
    case SavedCheckState::kFailing:
      return "failing";
  }
  return "pending";
}

void AppendNumber(std::string* out, uint64_t n) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof(buf), n).ptr;
  out->append(buf, end);
}

// A JSON string. Names are nearly always plain ASCII, copied as they are;
// others go through nlohmann's escaping, which replaces bytes that are not
// UTF-8 by U+FFFD instead of throwing.
void AppendString(std::string* out, const std::string& s) {
  bool plain = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    *out += '"';
    *out += s;
    *out += '"';
  } else {
    *out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

// Writes the 24 characters of FormatWallTime at `out`.
void PutWallTime(char* out, WallTime t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day date(day);
  hh_mm_ss<milliseconds> time(ms - day);
  auto put = [&out](unsigned value, int digits) {
    for (int i = digits - 1; i >= 0; --i, value /= 10) {
      out[i] = static_cast<char>('0' + value % 10);
    }
    out += digits;
  };
  put(static_cast<unsigned>(static_cast<int>(date.year())), 4);
  *out++ = '-';
  put(static_cast<unsigned>(date.month()), 2);
  *out++ = '-';
  put(static_cast<unsigned>(date.day()), 2);
  *out++ = 'T';
  put(time.hours().count(), 2);
  *out++ = ':';
  put(time.minutes().count(), 2);
  *out++ = ':';
  put(time.seconds().count(), 2);
  *out++ = '.';
  put(time.subseconds().count(), 3);
  *out = 'Z';
}

void AppendTime(std::string* out, WallTime t) {
  char buf[kWallTimeSize + 2];
  buf[0] = '"';
  PutWallTime(buf + 1, t);
  buf[kWallTimeSize + 1] = '"';
  out->append(buf, sizeof(buf));
}

void AppendService(std::string* out, const SavedService& s) {
  *out += "{\"paused\":";
  *out += s.paused ? "true" : "false";
  *out += ",\"limit_reached\":";
  *out += s.limit_reached ? "true" : "false";
  *out += ",\"restarts\":[";
  for (size_t i = 0; i < s.restarts.size(); ++i) {
    if (i > 0) *out += ',';
    AppendTime(out, s.restarts[i]);
  }
  *out += "],\"consecutive_restarts\":";
  AppendNumber(out, s.consecutive_restarts);
  *out += ",\"next_restart_allowed\":";
  if (s.next_restart_allowed) {
    AppendTime(out, *s.next_restart_allowed);
  } else {
    *out += "null";
  }
  *out += ",\"process\":";
  if (s.process) {
    *out += "{\"pid\":";
    AppendNumber(out, s.process->pid);
    *out += ",\"start_time\":";
    AppendNumber(out, s.process->start_time);
    *out += ",\"boot_id\":";
    AppendString(out, s.process->boot_id);
    *out += '}';
  } else {
    *out += "null";
  }
  *out += ",\"checks\":{";
  bool first = true;
  for (const auto& [name, check] : s.checks) {
    if (!first) *out += ',';
    first = false;
    AppendString(out, name);
    *out += ":{\"state\":\"";
    *out += CheckStateText(check.state);
    *out += "\",\"consecutive_failures\":";
    AppendNumber(out, check.consecutive_failures);
    *out += ",\"consecutive_successes\":";
    AppendNumber(out, check.consecutive_successes);
    *out += '}';
  }
  *out += "}}";
}

// How a value looks in an error: short, and on one line. Containers are
// not dumped: a hostile file may nest them deeper than the stack.
std::string Describe(const json& v) {
  if (v.is_array()) return v.empty() ? "[]" : "an array";
  if (v.is_object()) return v.empty() ? "{}" : "an object";
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// A place in the file ("services.web.restarts[1]"), kept as a chain on the
// stack and spelled out only for an error: a file of 10,000 services is
// read without building a path per value.
struct Where {
  const Where* parent = nullptr;
  std::string_view key;
  int index = -1;  // an element of the parent array

  std::string Path() const {
    std::string path = parent ? parent->Path() : "";
    if (index >= 0) return path + "[" + std::to_string(index) + "]";
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  Where Key(std::string_view k) const { return {this, k}; }
  Where Index(int i) const { return {this, "", i}; }
};

Status Expected(const Where& where, const char* what, const json& v) {
  return Status::Error(where.Path() + ": expected " + what + ", not " +
                       Describe(v));
}

// Each object is read against the exact keys watchd writes: a key missing
// or added means someone else wrote (or damaged) the file.
Status CheckKeys(const json& obj, const Where& where,
                 std::initializer_list<const char*> keys) {
  auto path = [&] {
    return where.parent == nullptr && where.key.empty() ? "the file"
                                                        : where.Path();
  };
  for (const char* key : keys) {
    if (!obj.contains(key)) {
      return Status::Error(path() + ": missing \"" + key + "\"");
    }
  }
  if (obj.size() == keys.size()) return Status::Ok();
  for (const auto& item : obj.items()) {
    if (std::none_of(keys.begin(), keys.end(),
                     [&](const char* key) { return item.key() == key; })) {
      return Status::Error(path() + ": unknown key " + Describe(item.key()));
    }
  }
  return Status::Ok();
}

Result<bool> ReadBool(const json& v, const Where& where) {
  if (!v.is_boolean()) return Expected(where, "true or false", v);
  return v.get<bool>();
}

Result<uint64_t> ReadUnsigned(const json& v, const Where& where, uint64_t min,
                              uint64_t max) {
  // Negative integers are number_integer, the rest number_unsigned.
  if (!v.is_number_unsigned() || v.get<uint64_t>() < min ||
      v.get<uint64_t>() > max) {
    std::string range =
        "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    return Expected(where, range.c_str(), v);
  }
  return v.get<uint64_t>();
}

Result<int> ReadCount(const json& v, const Where& where) {
  auto n = ReadUnsigned(v, where, 0, INT_MAX);
  if (!n.ok()) return n.status();
  return static_cast<int>(*n);
}

Result<WallTime> ReadTime(const json& v, const Where& where) {
  std::optional<WallTime> t;
  if (v.is_string()) t = ParseWallTime(v.get_ref<const std::string&>());
  if (!t) return Expected(where, "a time as 2026-01-31T23:59:59.999Z", v);
  return *t;
}

Result<SavedCheck> ReadCheck(const json& v, const Where& where) {
  if (!v.is_object()) return Expected(where, "an object", v);
  Status keys = CheckKeys(
      v, where, {"state", "consecutive_failures", "consecutive_successes"});
  if (!keys.ok()) return keys;
  SavedCheck check;
  const json& state = v["state"];
  const std::string* text =
      state.is_string() ? &state.get_ref<const std::string&>() : nullptr;
  if (text && *text == "pending") {
    check.state = SavedCheckState::kPending;
  } else if (text && *text == "passing") {
    check.state = SavedCheckState::kPassing;
  } else if (text && *text == "failing") {
    check.state = SavedCheckState::kFailing;
  } else {
    return Expected(where.Key("state"), "pending, passing or failing", state);
  }
  auto failures =
      ReadCount(v["consecutive_failures"], where.Key("consecutive_failures"));
  if (!failures.ok()) return failures.status();
  auto successes =
      ReadCount(v["consecutive_successes"], where.Key("consecutive_successes"));
  if (!successes.ok()) return successes.status();
  check.consecutive_failures = *failures;
  check.consecutive_successes = *successes;
  return check;
}

Result<SavedProcess> ReadProcess(const json& v, const Where& where) {
  if (!v.is_object()) return Expected(where, "an object or null", v);
  Status keys = CheckKeys(v, where, {"pid", "start_time", "boot_id"});
  if (!keys.ok()) return keys;
  auto pid = ReadUnsigned(v["pid"], where.Key("pid"), 1, INT32_MAX);
  if (!pid.ok()) return pid.status();
  auto start = ReadUnsigned(v["start_time"], where.Key("start_time"), 0,
                            std::numeric_limits<uint64_t>::max());
  if (!start.ok()) return start.status();
  const json& boot = v["boot_id"];
  if (!boot.is_string() || !IsBootId(boot.get_ref<const std::string&>())) {
    return Expected(where.Key("boot_id"), "a boot id", boot);
  }
  SavedProcess process;
  process.pid = static_cast<pid_t>(*pid);
  process.start_time = *start;
  process.boot_id = boot.get<std::string>();
  return process;
}

Status ReadRestarts(const json& v, const Where& where,
                    std::vector<WallTime>* restarts) {
  if (!v.is_array()) return Expected(where, "an array", v);
  for (size_t i = 0; i < v.size(); ++i) {
    Where at = where.Index(static_cast<int>(i));
    auto t = ReadTime(v[i], at);
    if (!t.ok()) return t.status();
    if (!restarts->empty() && *t < restarts->back()) {
      return Status::Error(at.Path() + ": earlier than the restart before it");
    }
    restarts->push_back(*t);
  }
  return Status::Ok();
}

Result<SavedService> ReadService(const json& v, const Where& where) {
  if (!v.is_object()) return Expected(where, "an object", v);
  Status keys =
      CheckKeys(v, where,
                {"paused", "limit_reached", "restarts", "consecutive_restarts",
                 "next_restart_allowed", "process", "checks"});
  if (!keys.ok()) return keys;
  SavedService s;
  auto paused = ReadBool(v["paused"], where.Key("paused"));
  if (!paused.ok()) return paused.status();
  s.paused = *paused;
  auto limit = ReadBool(v["limit_reached"], where.Key("limit_reached"));
  if (!limit.ok()) return limit.status();
  s.limit_reached = *limit;
  Status restarts =
      ReadRestarts(v["restarts"], where.Key("restarts"), &s.restarts);
  if (!restarts.ok()) return restarts;
  auto consecutive =
      ReadCount(v["consecutive_restarts"], where.Key("consecutive_restarts"));
  if (!consecutive.ok()) return consecutive.status();
  s.consecutive_restarts = *consecutive;
  const json& next = v["next_restart_allowed"];
  if (!next.is_null()) {
    auto t = ReadTime(next, where.Key("next_restart_allowed"));
    if (!t.ok()) return t.status();
    s.next_restart_allowed = *t;
  }
  const json& process = v["process"];
  if (!process.is_null()) {
    auto p = ReadProcess(process, where.Key("process"));
    if (!p.ok()) return p.status();
    s.process = std::move(p).value();
  }
  const json& checks = v["checks"];
  Where checks_at = where.Key("checks");
  if (!checks.is_object()) return Expected(checks_at, "an object", checks);
  for (const auto& item : checks.items()) {
    auto check = ReadCheck(item.value(), checks_at.Key(item.key()));
    if (!check.ok()) return check.status();
    s.checks.emplace(item.key(), *check);
  }
  return s;
}

// nlohmann's message after its "[json.exception.parse_error.101] " tag.
std::string ParseErrorText(const json::exception& e) {
  std::string text = e.what();
  size_t tag = text.find("] ");
  return tag == std::string::npos ? text : text.substr(tag + 2);
}

// The number the n digits at `at` spell (already known to be digits).
int Digits(std::string_view s, size_t at, size_t n) {
  int value = 0;
  for (size_t i = at; i < at + n; ++i) value = value * 10 + (s[i] - '0');
  return value;
}

}  // namespace

std::string SerializeState(const SavedState& state) {
  std::string out = "{\"format\":\"";
  out += kFormat;
  out += "\",\"version\":" + std::to_string(kStateFormatVersion) +
         ",\"services\":{";
  bool first = true;
  for (const auto& [name, service] : state.services) {
    out += first ? "\n" : ",\n";
    first = false;
    AppendString(&out, name);
    out += ':';
    AppendService(&out, service);
  }
  out += "\n}}\n";
  return out;
}

Result<SavedState> ParseState(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    return Status::Error("not valid JSON: " + ParseErrorText(e));
  }
  auto format = doc.is_object() ? doc.find("format") : doc.end();
  if (format == doc.end() || !format->is_string() ||
      format->get_ref<const std::string&>() != kFormat) {
    return Status::Error(
        "not a watchd state file (it has no \"format\": \"watchd-state\")");
  }
  // The version first: a later format may have other keys.
  auto version = doc.find("version");
  if (version == doc.end()) return Status::Error("missing \"version\"");
  if (!version->is_number_unsigned() ||
      version->get<uint64_t>() != kStateFormatVersion) {
    return Status::Error("version " + Describe(*version) +
                         " is not supported (this watchd reads version " +
                         std::to_string(kStateFormatVersion) + ")");
  }
  const Where root;
  Status keys = CheckKeys(doc, root, {"format", "version", "services"});
  if (!keys.ok()) return keys;
  const json& services = doc["services"];
  const Where services_at = root.Key("services");
  if (!services.is_object()) {
    return Expected(services_at, "an object", services);
  }
  SavedState state;
  for (const auto& item : services.items()) {
    auto service = ReadService(item.value(), services_at.Key(item.key()));
    if (!service.ok()) return service.status();
    state.services.emplace(item.key(), std::move(service).value());
  }
  return state;
}

std::string FormatWallTime(WallTime t) {
  std::string text(kWallTimeSize, ' ');
  PutWallTime(text.data(), t);
  return text;
}

std::optional<WallTime> ParseWallTime(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS.mmmZ
  constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd.dddZ";
  static_assert(kPattern.size() == kWallTimeSize);
  if (text.size() != kPattern.size()) return std::nullopt;
  for (size_t i = 0; i < text.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (kPattern[i] == 'd' ? !digit : text[i] != kPattern[i]) {
      return std::nullopt;
    }
  }
  const year_month_day date{year(Digits(text, 0, 4)),
                            month(static_cast<unsigned>(Digits(text, 5, 2))),
                            day(static_cast<unsigned>(Digits(text, 8, 2)))};
  const int h = Digits(text, 11, 2);
  const int m = Digits(text, 14, 2);
  const int sec = Digits(text, 17, 2);
  // A real date (not Feb 30) and time of day; leap seconds are not
  // written.
  if (!date.ok() || date.year() < year(kMinYear) ||
      date.year() > year(kMaxYear) || h > 23 || m > 59 || sec > 59) {
    return std::nullopt;
  }
  return WallTime(sys_days(date)) + hours(h) + minutes(m) + seconds(sec) +
         milliseconds(Digits(text, 20, 3));
}

bool IsBootId(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = text[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

}  // namespace watchd
