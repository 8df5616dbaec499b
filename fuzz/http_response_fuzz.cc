// HttpResponseParser on any bytes. Input: 4 bytes of parameters, then the
// response as the server sent it:
//   [0] bit 0: a response to HEAD; bit 1: keep the body; bit 2: the server
//       closes after the last byte (Finish)
//   [1..2] where to split the response for the second parse (big endian,
//       modulo its length + 1)
//   [3] max_body: 0 for 1 MiB, else that many bytes (to reach the bound)
// The same bytes fed in one piece, in two pieces split there, and one byte
// at a time must give the same result: the exchange feeds whatever each
// read() returned.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "net/http_response_parser.h"

namespace {

using watchd::HttpResponseParser;

struct Outcome {
  HttpResponseParser::State state;
  int status;
  std::string body;
  uint64_t body_bytes;
  std::string error;

  bool operator==(const Outcome&) const = default;
};

struct Params {
  bool head;
  bool keep_body;
  bool finish;
  uint64_t max_body;
};

Outcome Parse(const Params& p, std::string_view response, size_t step,
              size_t first) {
  HttpResponseParser parser(p.head, p.max_body, p.keep_body);
  std::string_view rest = response;
  size_t piece = first;
  while (!rest.empty()) {
    size_t n = std::min(piece, rest.size());
    // Each piece is a copy of its own: a parser that kept a view into an
    // earlier read would be caught reading freed memory.
    std::string copy(rest.substr(0, n));
    HttpResponseParser::State before = parser.state();
    HttpResponseParser::State after = parser.Feed(copy);
    FUZZ_CHECK(after == parser.state());
    if (parser.final() && before >= HttpResponseParser::State::kDone) {
      FUZZ_CHECK(after == before);
    }
    rest.remove_prefix(n);
    piece = step;
  }
  if (p.finish) parser.Finish();
  Outcome out{parser.state(), parser.status(), parser.body(),
              parser.body_bytes(), parser.error()};
  FUZZ_CHECK(out.body_bytes <= p.max_body);
  FUZZ_CHECK(p.keep_body ? out.body.size() == out.body_bytes
                         : out.body.empty());
  FUZZ_CHECK((out.state == HttpResponseParser::State::kError) ==
             !out.error.empty());
  if (out.state == HttpResponseParser::State::kDone ||
      out.state == HttpResponseParser::State::kTruncated) {
    FUZZ_CHECK(out.status >= 100 && out.status <= 999);
  }
  if (p.head && out.state != HttpResponseParser::State::kError) {
    FUZZ_CHECK(out.body_bytes == 0);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  Params p{(data[0] & 1) != 0, (data[0] & 2) != 0, (data[0] & 4) != 0,
           data[3] == 0 ? uint64_t{1} << 20 : data[3]};
  std::string_view response(reinterpret_cast<const char*>(data) + 4, size - 4);
  size_t split = (size_t{data[1]} << 8 | data[2]) % (response.size() + 1);

  Outcome whole = Parse(p, response, response.size() + 1, response.size());
  Outcome two = Parse(p, response, response.size() + 1, split);
  FUZZ_CHECK(two == whole);
  Outcome bytes = Parse(p, response, 1, 1);
  FUZZ_CHECK(bytes == whole);
  return 0;
}
