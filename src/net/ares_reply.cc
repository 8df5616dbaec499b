#include "net/ares_reply.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>

namespace watchd {
namespace {

constexpr int kHeaderSize = 12;
constexpr int kClassIn = 1;
constexpr int kTypeA = 1;
constexpr int kTypeNs = 2;
constexpr int kTypeCname = 5;
constexpr int kTypePtr = 12;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeSrv = 33;

uint16_t Get16(const unsigned char* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t Get32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// Expands the (maybe compressed) name at p; its length in the message goes
// into *len.
bool ExpandName(const unsigned char* p, const unsigned char* abuf, int alen,
                std::string* name, long* len) {
  char* s = nullptr;
  if (ares_expand_name(p, abuf, alen, &s, len) != ARES_SUCCESS) return false;
  if (name != nullptr) *name = s;
  ares_free_string(s);
  return true;
}

struct ResourceRecord {
  int type;
  int rclass;
  uint32_t ttl;
  const unsigned char* rdata;
};

// Calls fn on each record of the answer section; false when malformed.
template <typename Fn>
bool ForEachAnswer(const unsigned char* abuf, int alen, Fn fn) {
  if (alen < kHeaderSize) return false;
  const int questions = Get16(abuf + 4);
  const int answers = Get16(abuf + 6);
  const unsigned char* p = abuf + kHeaderSize;
  const unsigned char* end = abuf + alen;
  long len = 0;
  for (int i = 0; i < questions; ++i) {
    if (!ExpandName(p, abuf, alen, nullptr, &len)) return false;
    if (end - p < len + 4) return false;
    p += len + 4;
  }
  for (int i = 0; i < answers; ++i) {
    if (!ExpandName(p, abuf, alen, nullptr, &len)) return false;
    if (end - p < len + 10) return false;
    p += len;
    ResourceRecord rr{Get16(p), Get16(p + 2), Get32(p + 4), p + 10};
    const int rdlength = Get16(p + 8);
    p += 10;
    if (end - p < rdlength) return false;
    p += rdlength;
    fn(rr);
  }
  return true;
}

std::string AddressText(int family, const void* addr) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(family, addr, buf, sizeof(buf)) ? buf : "";
}

int ParseAddresses(const unsigned char* abuf, int alen, int family,
                   std::vector<std::string>* out) {
  hostent* host = nullptr;
  int rc = family == AF_INET
               ? ares_parse_a_reply(abuf, alen, &host, nullptr, nullptr)
               : ares_parse_aaaa_reply(abuf, alen, &host, nullptr, nullptr);
  if (rc != ARES_SUCCESS) return rc;
  for (char** a = host->h_addr_list; *a != nullptr; ++a) {
    out->push_back(AddressText(family, *a));
  }
  ares_free_hostent(host);
  return ARES_SUCCESS;
}

int ParseMx(const unsigned char* abuf, int alen,
            std::vector<std::string>* out) {
  ares_mx_reply* mx = nullptr;
  int rc = ares_parse_mx_reply(abuf, alen, &mx);
  if (rc != ARES_SUCCESS) return rc;
  for (ares_mx_reply* r = mx; r != nullptr; r = r->next) {
    out->push_back(std::to_string(r->priority) + " " + r->host);
  }
  ares_free_data(mx);
  return ARES_SUCCESS;
}

int ParseSrv(const unsigned char* abuf, int alen,
             std::vector<std::string>* out) {
  ares_srv_reply* srv = nullptr;
  int rc = ares_parse_srv_reply(abuf, alen, &srv);
  if (rc != ARES_SUCCESS) return rc;
  for (ares_srv_reply* r = srv; r != nullptr; r = r->next) {
    out->push_back(std::to_string(r->priority) + " " +
                   std::to_string(r->weight) + " " + std::to_string(r->port) +
                   " " + r->host);
  }
  ares_free_data(srv);
  return ARES_SUCCESS;
}

int ParseTxt(const unsigned char* abuf, int alen,
             std::vector<std::string>* out) {
  ares_txt_ext* txt = nullptr;
  int rc = ares_parse_txt_reply_ext(abuf, alen, &txt);
  if (rc != ARES_SUCCESS) return rc;
  // A record of several strings reads as their concatenation (as SPF does).
  for (ares_txt_ext* r = txt; r != nullptr; r = r->next) {
    std::string chunk(reinterpret_cast<const char*>(r->txt), r->length);
    if (r->record_start || out->empty()) {
      out->push_back(std::move(chunk));
    } else {
      out->back() += chunk;
    }
  }
  ares_free_data(txt);
  return ARES_SUCCESS;
}

}  // namespace

int DnsTypeCode(const std::string& type) {
  std::string upper = type;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  static const struct {
    const char* name;
    int code;
  } kTypes[] = {{"A", kTypeA},       {"NS", kTypeNs},  {"CNAME", kTypeCname},
                {"PTR", kTypePtr},   {"MX", kTypeMx},  {"TXT", kTypeTxt},
                {"AAAA", kTypeAaaa}, {"SRV", kTypeSrv}};
  for (const auto& t : kTypes) {
    if (upper == t.name) return t.code;
  }
  return 0;
}

int ParseDnsReply(const unsigned char* abuf, int alen, int type,
                  DnsReply* out) {
  // Names (CNAME, NS, PTR) are read straight from the answer section:
  // c-ares has no parser for CNAME records, and its NS and PTR parsers
  // build hostents whose alias lists are awkward to read back.
  const bool name_type =
      type == kTypeCname || type == kTypeNs || type == kTypePtr;
  bool names_ok = true;
  bool walked = ForEachAnswer(abuf, alen, [&](const ResourceRecord& rr) {
    if (!out->min_ttl || rr.ttl < *out->min_ttl) out->min_ttl = rr.ttl;
    if (!name_type || rr.type != type || rr.rclass != kClassIn) return;
    std::string name;
    long len = 0;
    if (ExpandName(rr.rdata, abuf, alen, &name, &len)) {
      out->records.push_back(std::move(name));
    } else {
      names_ok = false;
    }
  });
  if (!walked || !names_ok) return ARES_EBADRESP;
  out->rcode = abuf[3] & 0x0f;
  int rc = ARES_SUCCESS;
  switch (type) {
    case kTypeA:
      rc = ParseAddresses(abuf, alen, AF_INET, &out->records);
      break;
    case kTypeAaaa:
      rc = ParseAddresses(abuf, alen, AF_INET6, &out->records);
      break;
    case kTypeMx:
      rc = ParseMx(abuf, alen, &out->records);
      break;
    case kTypeSrv:
      rc = ParseSrv(abuf, alen, &out->records);
      break;
    case kTypeTxt:
      rc = ParseTxt(abuf, alen, &out->records);
      break;
    default:
      break;
  }
  if (rc == ARES_SUCCESS && out->records.empty()) rc = ARES_ENODATA;
  // c-ares' parsers answer EBADNAME for a record's name they cannot
  // expand: in a reply, that is a malformed reply, not a bad name asked.
  if (rc != ARES_SUCCESS && rc != ARES_ENODATA && rc != ARES_ENOMEM) {
    rc = ARES_EBADRESP;
  }
  return rc;
}

}  // namespace watchd
