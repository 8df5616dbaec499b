// Decoding of raw DNS replies (as c-ares hands them over) into the text
// records of QueryAnswer and the TTL to cache them for.
#ifndef WATCHD_NET_ARES_REPLY_H_
#define WATCHD_NET_ARES_REPLY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace watchd {

// The RR type code of "A", "mx", ... (any case); 0 when unsupported.
int DnsTypeCode(const std::string& type);

struct DnsReply {
  int rcode = 0;
  std::vector<std::string> records;  // of the asked type, as in QueryAnswer
  // Smallest TTL over the answer section; nullopt when it is empty.
  std::optional<uint32_t> min_ttl;
};

// Parses a reply to a query of RR type `type` (a DnsTypeCode). Returns an
// ARES_* status: ARES_SUCCESS, ARES_ENODATA (no record of the type),
// ARES_EBADRESP (malformed), ARES_ENOMEM.
int ParseDnsReply(const unsigned char* abuf, int alen, int type, DnsReply* out);

}  // namespace watchd

#endif  // WATCHD_NET_ARES_REPLY_H_
