// The XML-RPC subset supervisord speaks: encoding a call, decoding a
// response or fault. Hostile or garbled input decodes to an error.
#ifndef WATCHD_ACTIONS_XMLRPC_H_
#define WATCHD_ACTIONS_XMLRPC_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/status.h"

namespace watchd {

struct XmlRpcValue {
  using Array = std::vector<XmlRpcValue>;
  using Struct = std::map<std::string, XmlRpcValue>;
  std::variant<std::monostate, bool, int64_t, double, std::string, Array,
               Struct>
      v;

  const XmlRpcValue* Member(const std::string& name) const;
  // The value as that type, or nullptr.
  const int64_t* AsInt() const { return std::get_if<int64_t>(&v); }
  const std::string* AsString() const { return std::get_if<std::string>(&v); }
  const bool* AsBool() const { return std::get_if<bool>(&v); }
};

struct XmlRpcFault {
  int64_t code = 0;
  std::string message;
};

struct XmlRpcResponse {
  bool is_fault = false;
  XmlRpcValue value;  // when !is_fault
  XmlRpcFault fault;  // when is_fault
};

// params: strings and booleans, the only kinds supervisord's process calls
// take.
using XmlRpcParam = std::variant<std::string, bool>;
std::string EncodeXmlRpcCall(const std::string& method,
                             const std::vector<XmlRpcParam>& params);

Result<XmlRpcResponse> DecodeXmlRpcResponse(const std::string& body);

// system.multicall: several calls in one request, answered in order.
struct XmlRpcCall {
  std::string method;
  std::vector<XmlRpcParam> params;
};
std::string EncodeXmlRpcMulticall(const std::vector<XmlRpcCall>& calls);

// The results of a system.multicall (its response's value), one per call:
// a fault struct, or the value, which the XML-RPC convention wraps in an
// array of one and supervisord sends bare. Errors unless there are
// `expected` of them.
Result<std::vector<XmlRpcResponse>> DecodeXmlRpcMulticall(
    const XmlRpcValue& value, size_t expected);

}  // namespace watchd

#endif  // WATCHD_ACTIONS_XMLRPC_H_
