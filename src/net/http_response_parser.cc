#include "net/http_response_parser.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace watchd {
namespace {

// Longest trailer line accepted: libcurl's (it keeps one with its CRLF and a
// NUL in 4 KiB), so both http paths agree.
constexpr size_t kMaxTrailerLine = 4096 - 3;
// Hex digits of a chunk size: as many as libcurl reads (a curl_off_t's).
constexpr size_t kMaxChunkDigits = 16;
constexpr std::string_view kMalformed = "malformed response";
constexpr std::string_view kHttp = "HTTP/";

// "malformed response: <what>", built only on failure (no allocation on
// the way of a good response).
std::string Malformed(std::string_view what) {
  return std::string(kMalformed) + ": " + std::string(what);
}

// Whether data could begin a response: "HTTP/" or as much of it as came.
bool StartsLikeHttp(std::string_view data) {
  size_t n = std::min(data.size(), kHttp.size());
  return data.substr(0, n) == kHttp.substr(0, n);
}

// Position just past the blank line ending a head ("\r\n\r\n" or a bare
// "\n\n"), searching from `from`; npos when not there yet.
size_t FindHeadEnd(std::string_view s, size_t from) {
  for (size_t i = s.find('\n', from); i != std::string_view::npos;
       i = s.find('\n', i + 1)) {
    size_t j = i + 1;
    if (j < s.size() && s[j] == '\r') ++j;
    if (j < s.size() && s[j] == '\n') return j + 1;
  }
  return std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// "HTTP/1.1 200 OK": HTTP/1.0 or 1.1 (libcurl refuses other versions),
// space, three digits from 100, then space or nothing. The status, or 0 when
// malformed.
int ParseStatusLine(std::string_view line) {
  line = Trim(line);
  if (line.size() < 12 ||
      (line.substr(0, 9) != "HTTP/1.1 " && line.substr(0, 9) != "HTTP/1.0 ") ||
      !std::all_of(line.begin() + 9, line.begin() + 12,
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      (line.size() > 12 && line[12] != ' ')) {
    return 0;
  }
  int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  return status < 100 ? 0 : status;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decimal digits only, no overflow.
bool ParseLength(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Whether the last coding of a Transfer-Encoding list is "chunked".
bool EndsWithChunked(std::string_view value) {
  size_t comma = value.rfind(',');
  if (comma != std::string_view::npos) value.remove_prefix(comma + 1);
  return EqualsNoCase(Trim(value), "chunked");
}

}  // namespace

HttpResponseParser::HttpResponseParser(bool head_request, uint64_t max_body,
                                       bool keep_body)
    : head_request_(head_request), max_body_(max_body), keep_body_(keep_body) {}

HttpResponseParser::State HttpResponseParser::Feed(std::string_view data) {
  while (!data.empty() && !final()) {
    size_t used = state_ == State::kHead ? FeedHead(data) : FeedBody(data);
    data.remove_prefix(used);
  }
  return state_;
}

HttpResponseParser::State HttpResponseParser::Finish() {
  if (final()) return state_;
  if (state_ == State::kBody && framing_ == Framing::kUntilClose) {
    state_ = State::kDone;
  } else if (state_ == State::kHead && head_.find('\n') != std::string::npos) {
    Fail(ReadStatusLine() ? "response cut short" : std::string(kMalformed));
  } else if (state_ == State::kHead && status_ == 0) {
    // Closed before a whole status line (libcurl's "empty reply" too).
    Fail("empty reply");
  } else {
    Fail("response cut short");
  }
  return state_;
}

bool HttpResponseParser::ReadStatusLine() {
  int status =
      ParseStatusLine(std::string_view(head_).substr(0, head_.find('\n')));
  if (status != 0) status_ = status;
  return status != 0;
}

size_t HttpResponseParser::FeedHead(std::string_view data) {
  // Most heads arrive whole in one read: parse them in place.
  if (head_.empty()) {
    if (!StartsLikeHttp(data)) {
      Fail(std::string(kMalformed));
      return data.size();
    }
    size_t end = FindHeadEnd(data, 0);
    if (end != std::string_view::npos && end <= kMaxHead) {
      ParseHead(data.substr(0, end));
      return end;
    }
  }
  size_t old = head_.size();
  size_t take = std::min(data.size(), kMaxHead + 1 - old);
  head_.append(data.data(), take);
  if (!StartsLikeHttp(head_)) {
    Fail(std::string(kMalformed));
    return data.size();
  }
  size_t end = FindHeadEnd(head_, old >= 3 ? old - 3 : 0);
  if (end == std::string::npos) {
    if (head_.size() > kMaxHead) {
      // The status line was read (libcurl reports it too).
      ReadStatusLine();
      Fail(Malformed("headers too long"));
      return data.size();
    }
    return take;
  }
  std::string head = std::move(head_);
  head_.clear();
  ParseHead(std::string_view(head).substr(0, end));
  return end - old;
}

void HttpResponseParser::ParseHead(std::string_view head) {
  // A NUL in a head is refused outright, as libcurl does: fields with one
  // mean different things to different readers.
  size_t eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  if (line.find('\0') != std::string_view::npos) {
    Fail(Malformed("NUL in header"));
    return;
  }
  int status = ParseStatusLine(line);
  if (status == 0) {
    Fail(std::string(kMalformed));
    return;
  }
  status_ = status;

  bool chunked = false;
  bool has_coding = false;
  bool has_length = false;
  uint64_t length = 0;
  for (size_t pos = eol + 1; pos < head.size();) {
    size_t next = head.find('\n', pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view header = head.substr(pos, next - pos);
    pos = next + 1;
    if (header.find('\0') != std::string_view::npos) {
      Fail(Malformed("NUL in header"));
      return;
    }
    // The blank line, and obsolete folding (a value continued): nothing the
    // framing needs.
    if (Trim(header).empty() || header[0] == ' ' || header[0] == '\t') {
      continue;
    }
    size_t colon = header.find(':');
    if (colon == std::string_view::npos) {
      Fail(Malformed("header without colon"));
      return;
    }
    std::string_view name = header.substr(0, colon);
    std::string_view value = Trim(header.substr(colon + 1));
    if (EqualsNoCase(name, "content-length")) {
      uint64_t v = 0;
      if (!ParseLength(value, &v) || (has_length && v != length)) {
        Fail(Malformed("bad Content-Length"));
        return;
      }
      has_length = true;
      length = v;
    } else if (EqualsNoCase(name, "transfer-encoding")) {
      // RFC 9112, 6.3: chunked when it is the last coding, else the body
      // runs to the close, and Content-Length does not count. watchd sends
      // no TE, so a server should use no other coding (6.1); one that does
      // is still up, and only a body to match suffers (coded()).
      has_coding = true;
      chunked = EndsWithChunked(value);
      if (!EqualsNoCase(value, "chunked") && !EqualsNoCase(value, "identity")) {
        coded_ = true;
      }
    }
  }

  if (status_ < 200 && status_ != 101) return;  // interim: the real one next
  if (head_request_ || status_ < 200 || status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (chunked) {
    framing_ = Framing::kChunked;
    state_ = State::kBody;
  } else if (has_length && !has_coding) {
    framing_ = Framing::kLength;
    remaining_ = length;
    state_ = length == 0 ? State::kDone : State::kBody;
  } else {
    framing_ = Framing::kUntilClose;
    state_ = State::kBody;
  }
}

size_t HttpResponseParser::FeedBody(std::string_view data) {
  switch (framing_) {
    case Framing::kLength: {
      size_t take =
          static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
      remaining_ -= take;
      if (TakeBody(data.substr(0, take)) && remaining_ == 0) {
        state_ = State::kDone;
      }
      return take;
    }
    case Framing::kUntilClose:
      TakeBody(data);
      return data.size();
    case Framing::kChunked:
      return FeedChunked(data);
  }
  return data.size();
}

size_t HttpResponseParser::FeedChunked(std::string_view data) {
  size_t i = 0;
  while (i < data.size() && !final()) {
    if (chunk_ == ChunkPhase::kData) {
      size_t take =
          static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - i));
      remaining_ -= take;
      bool room = TakeBody(data.substr(i, take));
      i += take;
      if (room && remaining_ == 0) chunk_ = ChunkPhase::kDataEnd;
      continue;
    }
    char c = data[i++];
    if (chunk_ == ChunkPhase::kDataEnd) {
      if (c == '\n') {
        chunk_ = ChunkPhase::kSize;
      } else if (c != '\r') {
        Fail(Malformed("bad chunk"));
      }
      continue;
    }
    if (chunk_ == ChunkPhase::kTrailer) {
      // Trailer fields are not used: only counted, each line up to libcurl's
      // bound, until the blank line.
      if (c == '\n') {
        if (line_bytes_ == 0) state_ = State::kDone;
        line_bytes_ = 0;
      } else if (c != '\r' && ++line_bytes_ > kMaxTrailerLine) {
        Fail(Malformed("bad chunk"));
      }
      continue;
    }
    // kSize: hex digits first; what follows them up to the end of the line
    // (an extension, spaces, anything) is skipped unread and unbounded, as
    // libcurl does: the size is all the framing needs, and a timeout ends
    // a line that never does.
    if (c != '\n') {
      int digit = in_extension_ ? -1 : HexValue(c);
      if (digit >= 0 && ++line_bytes_ <= kMaxChunkDigits) {
        chunk_size_ = chunk_size_ * 16 + static_cast<uint64_t>(digit);
      } else if (digit >= 0 || line_bytes_ == 0) {
        Fail(Malformed("bad chunk"));  // too many digits, or none first
      } else {
        in_extension_ = true;
      }
      continue;
    }
    uint64_t size = chunk_size_;
    bool digits = line_bytes_ > 0;
    line_bytes_ = 0;
    chunk_size_ = 0;
    in_extension_ = false;
    // No digits, or more than a curl_off_t holds.
    if (!digits ||
        size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Fail(Malformed("bad chunk"));
    } else if (size == 0) {
      chunk_ = ChunkPhase::kTrailer;
    } else {
      remaining_ = size;
      chunk_ = ChunkPhase::kData;
    }
  }
  return i;
}

bool HttpResponseParser::TakeBody(std::string_view data) {
  uint64_t room = max_body_ - body_read_;
  bool fits = data.size() <= room;
  if (!fits) data = data.substr(0, static_cast<size_t>(room));
  if (keep_body_) body_.append(data.data(), data.size());
  body_read_ += data.size();
  if (!fits) state_ = State::kTruncated;
  return fits;
}

void HttpResponseParser::Fail(std::string why) {
  state_ = State::kError;
  error_ = std::move(why);
}

}  // namespace watchd
