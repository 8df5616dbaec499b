#include "actions/xmlrpc.h"

#include <cstdlib>

namespace watchd {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A forward-only reader of the element structure of an XML-RPC document.
// It knows tags, text and the five predefined entities, and nothing else
// XML has (no DTDs, no namespaces), which is all XML-RPC uses.
class Reader {
 public:
  explicit Reader(const std::string& text) : s_(text) {}

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }

  void SkipSpaceAndProlog() {
    for (;;) {
      SkipSpace();
      if (s_.compare(pos_, 2, "<?") == 0 || s_.compare(pos_, 4, "<!--") == 0) {
        bool comment = s_[pos_ + 1] == '!';
        size_t end = s_.find(comment ? "-->" : "?>", pos_);
        if (end == std::string::npos) return Fail("unterminated prolog");
        pos_ = end + (comment ? 3 : 2);
        continue;
      }
      return;
    }
  }

  // The name of the next tag if it is an opening one, else "".
  std::string PeekOpen() {
    SkipSpaceAndProlog();
    if (pos_ >= s_.size() || s_[pos_] != '<' || pos_ + 1 >= s_.size() ||
        s_[pos_ + 1] == '/') {
      return "";
    }
    size_t end = s_.find_first_of(" />\t\r\n", pos_ + 1);
    if (end == std::string::npos) return "";
    return s_.substr(pos_ + 1, end - pos_ - 1);
  }

  // Consumes <name> (or <name/>, reported through *empty).
  bool Open(const std::string& name, bool* empty = nullptr) {
    if (PeekOpen() != name) {
      Fail("expected <" + name + ">");
      return false;
    }
    size_t end = s_.find('>', pos_);
    if (end == std::string::npos) {
      Fail("unterminated tag");
      return false;
    }
    bool self_closing = s_[end - 1] == '/';
    if (empty) *empty = self_closing;
    pos_ = end + 1;
    if (self_closing && !empty) {
      Fail("unexpected empty <" + name + "/>");
      return false;
    }
    return true;
  }

  bool Close(const std::string& name) {
    SkipSpace();
    std::string tag = "</" + name;
    if (s_.compare(pos_, tag.size(), tag) != 0) {
      Fail("expected </" + name + ">");
      return false;
    }
    size_t end = s_.find('>', pos_);
    if (end == std::string::npos) {
      Fail("unterminated tag");
      return false;
    }
    pos_ = end + 1;
    return true;
  }

  // Character data up to the next tag, entities decoded.
  std::string Text() {
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '<') {
      if (s_[pos_] == '&') {
        size_t semi = s_.find(';', pos_);
        if (semi == std::string::npos || semi - pos_ > 8) {
          Fail("bad entity");
          return out;
        }
        std::string ent = s_.substr(pos_ + 1, semi - pos_ - 1);
        if (ent == "lt") {
          out += '<';
        } else if (ent == "gt") {
          out += '>';
        } else if (ent == "amp") {
          out += '&';
        } else if (ent == "quot") {
          out += '"';
        } else if (ent == "apos") {
          out += '\'';
        } else if (!ent.empty() && ent[0] == '#') {
          long code = ent.size() > 1 && ent[1] == 'x'
                          ? strtol(ent.c_str() + 2, nullptr, 16)
                          : strtol(ent.c_str() + 1, nullptr, 10);
          out += code > 0 && code < 128 ? static_cast<char>(code) : '?';
        } else {
          Fail("unknown entity &" + ent + ";");
          return out;
        }
        pos_ = semi + 1;
      } else {
        out += s_[pos_++];
      }
    }
    return out;
  }

  void Fail(const std::string& why) {
    if (error_.empty()) error_ = why + " at byte " + std::to_string(pos_);
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' ||
                                s_[pos_] == '\r' || s_[pos_] == '\t')) {
      ++pos_;
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
  std::string error_;
};

constexpr int kMaxDepth = 32;

bool ParseValue(Reader& r, XmlRpcValue* out, int depth);

bool ParseTyped(Reader& r, const std::string& type, XmlRpcValue* out,
                int depth) {
  bool empty = false;
  if (!r.Open(type, &empty)) return false;
  if (type == "nil") {
    out->v = std::monostate{};
    return empty || r.Close(type);
  }
  if (type == "struct") {
    XmlRpcValue::Struct members;
    while (!empty && r.PeekOpen() == "member") {
      r.Open("member");
      if (!r.Open("name")) return false;
      std::string name = r.Text();
      if (!r.Close("name")) return false;
      XmlRpcValue v;
      if (!ParseValue(r, &v, depth + 1) || !r.Close("member")) return false;
      members[name] = std::move(v);
    }
    out->v = std::move(members);
    return empty || r.Close(type);
  }
  if (type == "array") {
    XmlRpcValue::Array items;
    if (!empty) {
      bool data_empty = false;
      if (!r.Open("data", &data_empty)) return false;
      while (!data_empty && r.PeekOpen() == "value") {
        XmlRpcValue v;
        if (!ParseValue(r, &v, depth + 1)) return false;
        items.push_back(std::move(v));
      }
      if (!data_empty && !r.Close("data")) return false;
    }
    out->v = std::move(items);
    return empty || r.Close(type);
  }
  std::string text = empty ? "" : r.Text();
  if (r.failed() || (!empty && !r.Close(type))) return false;
  if (type == "string") {
    out->v = text;
  } else if (type == "int" || type == "i4" || type == "i8") {
    char* end = nullptr;
    long long n = strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0') {
      r.Fail("bad integer '" + text + "'");
      return false;
    }
    out->v = static_cast<int64_t>(n);
  } else if (type == "boolean") {
    if (text != "0" && text != "1") {
      r.Fail("bad boolean '" + text + "'");
      return false;
    }
    out->v = text == "1";
  } else if (type == "double") {
    out->v = strtod(text.c_str(), nullptr);
  } else {
    // dateTime.iso8601, base64: kept as text, supervisord's calls use none.
    out->v = text;
  }
  return true;
}

bool ParseValue(Reader& r, XmlRpcValue* out, int depth) {
  if (depth > kMaxDepth) {
    r.Fail("nesting too deep");
    return false;
  }
  bool empty = false;
  if (!r.Open("value", &empty)) return false;
  if (empty) {
    out->v = std::string();
    return true;
  }
  std::string type = r.PeekOpen();
  if (type.empty()) {
    // A bare <value>text</value> is a string.
    out->v = r.Text();
    return !r.failed() && r.Close("value");
  }
  return ParseTyped(r, type, out, depth) && r.Close("value");
}

void AppendParam(const XmlRpcParam& p, std::string* out) {
  if (const auto* s = std::get_if<std::string>(&p)) {
    *out += "<string>" + Escape(*s) + "</string>";
  } else {
    *out += std::get<bool>(p) ? "<boolean>1</boolean>" : "<boolean>0</boolean>";
  }
}

}  // namespace

const XmlRpcValue* XmlRpcValue::Member(const std::string& name) const {
  const auto* s = std::get_if<Struct>(&v);
  if (s == nullptr) return nullptr;
  auto it = s->find(name);
  return it == s->end() ? nullptr : &it->second;
}

std::string EncodeXmlRpcCall(const std::string& method,
                             const std::vector<XmlRpcParam>& params) {
  std::string out = "<?xml version=\"1.0\"?>\n<methodCall><methodName>" +
                    Escape(method) + "</methodName><params>";
  for (const auto& p : params) {
    out += "<param><value>";
    AppendParam(p, &out);
    out += "</value></param>";
  }
  out += "</params></methodCall>\n";
  return out;
}

std::string EncodeXmlRpcMulticall(const std::vector<XmlRpcCall>& calls) {
  std::string out =
      "<?xml version=\"1.0\"?>\n<methodCall><methodName>system.multicall"
      "</methodName><params><param><value><array><data>";
  for (const XmlRpcCall& call : calls) {
    out += "<value><struct><member><name>methodName</name><value><string>" +
           Escape(call.method) +
           "</string></value></member><member><name>params</name><value>"
           "<array><data>";
    for (const auto& p : call.params) {
      out += "<value>";
      AppendParam(p, &out);
      out += "</value>";
    }
    out += "</data></array></value></member></struct></value>";
  }
  out += "</data></array></value></param></params></methodCall>\n";
  return out;
}

Result<std::vector<XmlRpcResponse>> DecodeXmlRpcMulticall(
    const XmlRpcValue& value, size_t expected) {
  const auto* items = std::get_if<XmlRpcValue::Array>(&value.v);
  if (items == nullptr) {
    return Status::Error("system.multicall answered something not an array");
  }
  if (items->size() != expected) {
    return Status::Error("system.multicall answered " +
                         std::to_string(items->size()) + " results to " +
                         std::to_string(expected) + " calls");
  }
  std::vector<XmlRpcResponse> results;
  results.reserve(items->size());
  for (const XmlRpcValue& item : *items) {
    XmlRpcResponse result;
    const XmlRpcValue* code = item.Member("faultCode");
    const XmlRpcValue* text = item.Member("faultString");
    const auto* wrapped = std::get_if<XmlRpcValue::Array>(&item.v);
    if (code != nullptr) {
      if (code->AsInt() == nullptr || text == nullptr ||
          text->AsString() == nullptr) {
        return Status::Error("a system.multicall fault without faultString");
      }
      result.is_fault = true;
      result.fault = {*code->AsInt(), *text->AsString()};
    } else if (wrapped != nullptr && wrapped->size() == 1) {
      result.value = wrapped->front();
    } else {
      result.value = item;
    }
    results.push_back(std::move(result));
  }
  return results;
}

Result<XmlRpcResponse> DecodeXmlRpcResponse(const std::string& body) {
  Reader r(body);
  XmlRpcResponse resp;
  r.SkipSpaceAndProlog();
  if (!r.Open("methodResponse")) {
    return Status::Error("not an XML-RPC response: " + r.error());
  }
  std::string next = r.PeekOpen();
  if (next == "fault") {
    r.Open("fault");
    XmlRpcValue v;
    if (ParseValue(r, &v, 0) && r.Close("fault")) {
      const XmlRpcValue* code = v.Member("faultCode");
      const XmlRpcValue* text = v.Member("faultString");
      if (code && code->AsInt() && text && text->AsString()) {
        resp.is_fault = true;
        resp.fault = {*code->AsInt(), *text->AsString()};
        return resp;
      }
      r.Fail("fault without faultCode/faultString");
    }
  } else if (next == "params") {
    r.Open("params");
    if (r.Open("param") && ParseValue(r, &resp.value, 0) && r.Close("param") &&
        r.Close("params") && r.Close("methodResponse")) {
      return resp;
    }
  } else {
    r.Fail("expected <params> or <fault>");
  }
  return Status::Error("malformed XML-RPC response: " + r.error());
}

}  // namespace watchd
