#include "control/reply_header.h"

#include <nlohmann/json.hpp>
#include <vector>

namespace watchd {
namespace {

using Json = nlohmann::json;

// A SAX handler that keeps the key at each open object, so it knows where
// a value sits: {"ok"}, {"error": {"code"}}, {"states": {STATE: N}},
// {"services": [{"state"}]}.
class HeaderReader : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return true; }
  bool boolean(bool v) override {
    if (At({"ok"})) {
      header_.ok = v;
      saw_ok_ = true;
    }
    return true;
  }
  bool number_integer(Json::number_integer_t v) override {
    if (In("states", 2)) header_.states[keys_[1]] = v;
    return true;
  }
  bool number_unsigned(Json::number_unsigned_t v) override {
    return number_integer(static_cast<Json::number_integer_t>(v));
  }
  bool number_float(Json::number_float_t, const std::string&) override {
    return true;
  }
  bool string(std::string& v) override {
    if (At({"error", "code"})) header_.error_code = v;
    if (At({"error", "message"})) header_.error_message = v;
    if (In("services", 3) && keys_[2] == "state") ++counted_[v];
    return true;
  }
  bool binary(Json::binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    if (In("states", 1)) saw_states_ = true;
    open_.push_back(true);
    keys_.emplace_back();
    return true;
  }
  bool key(std::string& k) override {
    keys_.back() = k;
    // Everything after is the services themselves, already counted.
    if (open_.size() == 1 && k == "services" && saw_states_) {
      stopped_ = true;
      return false;
    }
    return true;
  }
  bool end_object() override {
    open_.pop_back();
    keys_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    open_.push_back(false);
    keys_.emplace_back();
    return true;
  }
  bool end_array() override { return end_object(); }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }

  std::optional<ReplyHeader> Finish(bool parsed) {
    if (!(parsed || stopped_) || !saw_ok_) return std::nullopt;
    if (!saw_states_) header_.states = std::move(counted_);
    return std::move(header_);
  }

 private:
  // The value just read sits at exactly this path of object keys.
  bool At(std::initializer_list<std::string_view> path) const {
    if (keys_.size() != path.size()) return false;
    size_t i = 0;
    for (std::string_view k : path) {
      if (!open_[i] || keys_[i] != k) return false;
      ++i;
    }
    return true;
  }
  // The value just read is `depth` containers deep under the top-level
  // key `top`.
  bool In(std::string_view top, size_t depth) const {
    return keys_.size() == depth && open_[0] && keys_[0] == top;
  }

  ReplyHeader header_;
  std::map<std::string, int64_t> counted_;
  std::vector<bool> open_;  // per open container: an object (else array)
  std::vector<std::string> keys_;
  bool saw_ok_ = false;
  bool saw_states_ = false;
  bool stopped_ = false;
};

}  // namespace

std::optional<ReplyHeader> ReadReplyHeader(std::string_view line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  HeaderReader reader;
  const bool parsed = Json::sax_parse(line, &reader);
  return reader.Finish(parsed);
}

}  // namespace watchd
