// ParseDnsReply, the resolver's reading of a raw reply, on any bytes.
// Input: one byte choosing the RR type asked (A, NS, CNAME, PTR, MX, TXT,
// AAAA, SRV, or one watchd does not support), then the reply as it came
// off the wire.
#include <ares.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "net/ares_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* const kTypes[] = {"A",   "NS",   "CNAME", "PTR", "MX",
                                       "TXT", "AAAA", "SRV",   "ANY"};
  if (size < 1) return 0;
  const int type =
      watchd::DnsTypeCode(kTypes[data[0] % (sizeof(kTypes) / sizeof(*kTypes))]);
  // A copy of exactly the reply's size, so a read past its end is caught.
  const std::vector<unsigned char> reply(data + 1, data + size);
  watchd::DnsReply out;
  const int rc = watchd::ParseDnsReply(
      reply.data(), static_cast<int>(reply.size()), type, &out);
  FUZZ_CHECK(rc == ARES_SUCCESS || rc == ARES_ENODATA || rc == ARES_EBADRESP ||
             rc == ARES_ENOMEM);
  if (rc == ARES_SUCCESS) {
    FUZZ_CHECK(!out.records.empty());
    FUZZ_CHECK(out.rcode == (reply[3] & 0x0f));
    FUZZ_CHECK(out.min_ttl.has_value());
  }
  return 0;
}
