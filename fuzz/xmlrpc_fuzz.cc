// DecodeXmlRpcResponse on any body, and DecodeXmlRpcMulticall on what it
// decodes, as the supervisord client does. Then a round trip through the
// real encoder: the bytes as one string param of a call, re-framed as a
// response, must decode to exactly those bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "actions/xmlrpc.h"
#include "fuzz/fuzz_check.h"

namespace {

// Walks a decoded value as callers read it, so every part of it is
// touched under ASan.
size_t Count(const watchd::XmlRpcValue& value) {
  size_t n = 1;
  if (const auto* items = std::get_if<watchd::XmlRpcValue::Array>(&value.v)) {
    for (const auto& item : *items) n += Count(item);
  } else if (const auto* members =
                 std::get_if<watchd::XmlRpcValue::Struct>(&value.v)) {
    for (const auto& [name, member] : *members)
      n += name.size() + Count(member);
  } else if (const std::string* text = value.AsString()) {
    n += text->size();
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  watchd::Result<watchd::XmlRpcResponse> decoded =
      watchd::DecodeXmlRpcResponse(body);
  if (decoded.ok() && !decoded->is_fault) {
    FUZZ_CHECK(Count(decoded->value) >= 1);
    for (size_t expected : {size_t{0}, size_t{1}, size_t{3}}) {
      auto results = watchd::DecodeXmlRpcMulticall(decoded->value, expected);
      if (results.ok()) FUZZ_CHECK(results->size() == expected);
    }
  } else if (!decoded.ok()) {
    FUZZ_CHECK(!decoded.status().message().empty());
  }

  const std::string call = watchd::EncodeXmlRpcCall("m", {body});
  const size_t params = call.find("<params>");
  const size_t end = call.rfind("</params>");
  FUZZ_CHECK(params != std::string::npos && end != std::string::npos);
  const std::string response = "<?xml version=\"1.0\"?>\n<methodResponse>" +
                               call.substr(params, end - params) +
                               "</params></methodResponse>\n";
  watchd::Result<watchd::XmlRpcResponse> echoed =
      watchd::DecodeXmlRpcResponse(response);
  FUZZ_CHECK(echoed.ok());
  FUZZ_CHECK(!echoed->is_fault);
  FUZZ_CHECK(echoed->value.AsString() != nullptr);
  FUZZ_CHECK(*echoed->value.AsString() == body);
  return 0;
}
