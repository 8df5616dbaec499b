#include "config/probe_parser.h"

#include <charconv>
#include <utility>

#include "config/host_port.h"
#include "config/node_reader.h"

namespace watchd {
namespace {

bool IsTokenChar(char c) {
  // RFC 9110 tchar: what a header name or method may contain.
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || kSymbols.find(c) != std::string_view::npos;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

bool HasSpaceOrControl(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string HttpUrlProblem(std::string_view url) {
  std::string_view rest;
  auto starts_with_nocase = [&](std::string_view prefix) {
    if (url.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
      char c = url[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != prefix[i]) return false;
    }
    return true;
  };
  if (starts_with_nocase("http://")) {
    rest = url.substr(7);
  } else if (starts_with_nocase("https://")) {
    rest = url.substr(8);
  } else {
    return "must start with http:// or https://";
  }
  if (HasSpaceOrControl(url))
    return "must not contain spaces or control characters";
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return "has an unclosed '[' in its host";
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "has junk after its IPv6 address";
      port = after.substr(1);
      if (port.empty()) return "has an empty port";
    }
  } else if (size_t colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return "has an empty port";
  }
  if (host.empty() || host == "[]") return "has no host";
  if (!port.empty()) {
    int value = 0;
    auto [end, ec] =
        std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return "has a port that is not a number from 1 to 65535";
    }
  }
  return "";
}

void ReadHeaders(NodeReader& reader, uint32_t node,
                 std::vector<std::pair<std::string, std::string>>* headers) {
  reader.ForEachEntry(node, /*unique=*/true, [&](const NodeReader::Entry& e) {
    if (!IsToken(e.name)) {
      reader.Error(e.key_node, "invalid header name '" + e.name + "'");
    }
    auto value = reader.String(e.value);
    if (!value) return;
    if (value->find_first_of("\r\n") != std::string::npos) {
      reader.Error(e.value, "header values must not contain line breaks");
    }
    headers->emplace_back(e.name, std::move(*value));
  });
}

namespace {

void RequireKey(NodeReader& reader, uint32_t node, bool present,
                std::string_view key, std::string_view kind) {
  if (!present) {
    reader.Error(node, "missing required key '" + std::string(key) +
                           "' for the " + std::string(kind) + " probe");
  }
}

HttpProbeConfig ParseHttp(NodeReader& reader, uint32_t node) {
  static constexpr std::string_view kKeys[] = {
      "url",  "method",           "expect_status", "expect_body", "headers",
      "body", "reuse_connection", "tls_verify",    "ca_file",     "max_body"};
  HttpProbeConfig http;
  bool has_url = false;
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        has_url = true;
        if (auto url = reader.NonEmptyString(f.value)) {
          if (std::string why = HttpUrlProblem(*url); !why.empty()) {
            reader.Error(f.value, "invalid url '" + *url + "': " + why);
          }
          http.url = std::move(*url);
        }
        break;
      case 1:
        if (auto method = reader.NonEmptyString(f.value)) {
          if (!IsToken(*method)) {
            reader.Error(f.value, "invalid HTTP method '" + *method + "'");
          }
          for (char& c : *method) {
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
          }
          http.method = std::move(*method);
        }
        break;
      case 2:
        if (reader.IsNull(f.value)) {
          reader.Error(f.value, "expected a status code or a list of them");
        } else if (!reader.IsSequence(f.value)) {
          if (auto code = reader.Int(f.value, 100, 599)) {
            http.expect_status.push_back(static_cast<int>(*code));
          }
        } else {
          reader.ForEachItem(f.value, [&](uint32_t item) {
            if (auto code = reader.Int(item, 100, 599)) {
              http.expect_status.push_back(static_cast<int>(*code));
            }
          });
        }
        break;
      case 3:
        if (auto re = reader.Regex(f.value)) http.expect_body = std::move(*re);
        break;
      case 4:
        ReadHeaders(reader, f.value, &http.headers);
        break;
      case 5:
        if (auto body = reader.String(f.value)) http.body = std::move(*body);
        break;
      case 6:
        if (auto b = reader.Bool(f.value)) http.reuse_connection = *b;
        break;
      case 7:
        if (auto b = reader.Bool(f.value)) http.tls_verify = *b;
        break;
      case 8:
        if (auto path = reader.NonEmptyString(f.value))
          http.ca_file = std::move(*path);
        break;
      case 9:
        if (auto size = reader.Size(f.value)) {
          if (*size == 0 || *size > kMaxHttpBody) {
            reader.Error(f.value, "max_body must be from 1 byte to 64MiB");
          } else {
            http.max_body_bytes = *size;
          }
        }
        break;
    }
  });
  RequireKey(reader, node, has_url, "url", "http");
  return http;
}

TcpProbeConfig ParseTcp(NodeReader& reader, uint32_t node) {
  static constexpr std::string_view kKeys[] = {"host", "port", "send",
                                               "expect"};
  TcpProbeConfig tcp;
  bool has_host = false;
  bool has_port = false;
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        has_host = true;
        if (auto host = reader.NonEmptyString(f.value)) {
          if (HasSpaceOrControl(*host)) {
            reader.Error(f.value, "invalid host '" + *host + "'");
          }
          tcp.host = std::move(*host);
        }
        break;
      case 1:
        has_port = true;
        if (auto port = reader.Int(f.value, 1, 65535))
          tcp.port = static_cast<int>(*port);
        break;
      case 2:
        if (auto send = reader.String(f.value)) tcp.send = std::move(*send);
        break;
      case 3:
        if (auto re = reader.Regex(f.value)) tcp.expect = std::move(*re);
        break;
    }
  });
  RequireKey(reader, node, has_host, "host", "tcp");
  RequireKey(reader, node, has_port, "port", "tcp");
  return tcp;
}

DnsProbeConfig ParseDns(NodeReader& reader, uint32_t node) {
  static constexpr std::string_view kKeys[] = {"name", "type", "server",
                                               "expect"};
  static constexpr std::string_view kTypes[] = {"A",  "AAAA", "CNAME", "MX",
                                                "NS", "TXT",  "SRV",   "PTR"};
  DnsProbeConfig dns;
  bool has_name = false;
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        has_name = true;
        if (auto name = reader.NonEmptyString(f.value)) {
          if (name->size() > 253 || HasSpaceOrControl(*name)) {
            reader.Error(f.value, "invalid DNS name '" + *name + "'");
          }
          dns.name = std::move(*name);
        }
        break;
      case 1:
        if (auto type = reader.Choice(f.value, kTypes))
          dns.type = kTypes[*type];
        break;
      case 2:
        if (auto server = reader.NonEmptyString(f.value)) {
          Result<HostPort> hp = ParseHostPort(*server, 53);
          if (!hp.ok()) {
            reader.Error(f.value, hp.status().message());
          } else if (!IsIpAddress(hp->host)) {
            reader.Error(
                f.value,
                "the DNS server must be an IP address, not '" + hp->host + "'");
          }
          dns.server = std::move(*server);
        }
        break;
      case 3:
        if (auto expect = reader.StringList(f.value, /*allow_single=*/true)) {
          dns.expect = std::move(*expect);
        }
        break;
    }
  });
  RequireKey(reader, node, has_name, "name", "dns");
  return dns;
}

MemoryProbeConfig ParseMemory(NodeReader& reader, uint32_t node) {
  static constexpr std::string_view kKeys[] = {"rss_max", "include_children"};
  MemoryProbeConfig memory;
  bool has_rss_max = false;
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    switch (f.index) {
      case 0:
        has_rss_max = true;
        if (auto size = reader.Size(f.value)) {
          if (*size == 0) reader.Error(f.value, "rss_max must be more than 0");
          memory.rss_max = *size;
        }
        break;
      case 1:
        if (auto b = reader.Bool(f.value)) memory.include_children = *b;
        break;
    }
  });
  RequireKey(reader, node, has_rss_max, "rss_max", "memory");
  return memory;
}

ExecProbeConfig ParseExec(NodeReader& reader, uint32_t node) {
  static constexpr std::string_view kKeys[] = {"command"};
  ExecProbeConfig exec;
  if (reader.IsSequence(node)) {
    if (auto argv = reader.Argv(node, &exec.argv0_location)) {
      exec.argv = std::move(*argv);
    }
    return exec;
  }
  if (!reader.IsMap(node)) {
    reader.Error(node,
                 "expected a command list like [/usr/bin/check, arg] or "
                 "{command: [...]}");
    return exec;
  }
  bool has_command = false;
  reader.ForEachField(node, kKeys, [&](const NodeReader::Field& f) {
    has_command = true;
    if (auto argv = reader.Argv(f.value, &exec.argv0_location)) {
      exec.argv = std::move(*argv);
    }
  });
  RequireKey(reader, node, has_command, "command", "exec");
  return exec;
}

}  // namespace

ProbeConfig ParseProbe(NodeReader& reader, size_t kind, uint32_t node) {
  switch (kind) {
    case 0:
      return ParseHttp(reader, node);
    case 1:
      return ParseTcp(reader, node);
    case 2:
      return ParseDns(reader, node);
    case 3:
      reader.ForEachField(node, {}, [](const NodeReader::Field&) {});
      return ProcessProbeConfig{};
    case 4:
      return ParseMemory(reader, node);
    default:
      return ParseExec(reader, node);
  }
}

}  // namespace watchd
