#include "net/http_response_parser.h"

#include <algorithm>
#include <cctype>

namespace watchd {
namespace {

constexpr size_t kMaxChunkLine = 4096;
constexpr std::string_view kMalformed = "malformed response";

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
  if (!data.empty()) any_bytes_ = true;
  while (!data.empty() && !final()) {
    size_t used = state_ == State::kHead ? FeedHead(data) : FeedBody(data);
    data.remove_prefix(used);
  }
  return state_;
}

HttpResponseParser::State HttpResponseParser::Finish() {
  if (final()) return state_;
  if (!any_bytes_) {
    Fail("empty reply");
  } else if (state_ == State::kBody && framing_ == Framing::kUntilClose) {
    state_ = State::kDone;
  } else {
    Fail("response cut short");
  }
  return state_;
}

size_t HttpResponseParser::FeedHead(std::string_view data) {
  // Most heads arrive whole in one read: parse them in place.
  if (head_.empty()) {
    if (data.size() >= 5 && data.substr(0, 5) != "HTTP/") {
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
  if (head_.size() >= 5 && head_.compare(0, 5, "HTTP/") != 0) {
    Fail(std::string(kMalformed));
    return data.size();
  }
  size_t end = FindHeadEnd(head_, old >= 3 ? old - 3 : 0);
  if (end == std::string::npos) {
    if (head_.size() > kMaxHead) {
      Fail(std::string(kMalformed) + ": headers too long");
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
  size_t eol = head.find('\n');
  std::string_view line = Trim(head.substr(0, eol));
  // "HTTP/1.1 200 OK": version, space, three digits, then space or nothing.
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." ||
      !isdigit(static_cast<unsigned char>(line[7])) || line[8] != ' ' ||
      !std::all_of(line.begin() + 9, line.begin() + 12,
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      (line.size() > 12 && line[12] != ' ')) {
    Fail(std::string(kMalformed));
    return;
  }
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status_ < 100) {
    Fail(std::string(kMalformed));
    return;
  }

  bool chunked = false;
  bool has_encoding = false;
  bool has_length = false;
  uint64_t length = 0;
  for (size_t pos = eol + 1; pos < head.size();) {
    size_t next = head.find('\n', pos);
    if (next == std::string_view::npos) next = head.size();
    std::string_view header = head.substr(pos, next - pos);
    pos = next + 1;
    size_t colon = header.find(':');
    // Blank line, obsolete folding or junk: nothing the framing needs.
    if (colon == std::string_view::npos || colon == 0 || header[0] == ' ' ||
        header[0] == '\t') {
      continue;
    }
    std::string_view name = header.substr(0, colon);
    std::string_view value = Trim(header.substr(colon + 1));
    if (EqualsNoCase(name, "content-length")) {
      uint64_t v = 0;
      if (!ParseLength(value, &v) || (has_length && v != length)) {
        Fail(std::string(kMalformed) + ": bad Content-Length");
        return;
      }
      has_length = true;
      length = v;
    } else if (EqualsNoCase(name, "transfer-encoding")) {
      has_encoding = true;
      chunked = EndsWithChunked(value);
    }
  }

  if (status_ < 200 && status_ != 101) return;  // interim: the real one next
  if (head_request_ || status_ < 200 || status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (has_encoding) {
    framing_ = chunked ? Framing::kChunked : Framing::kUntilClose;
    state_ = State::kBody;
  } else if (has_length) {
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
        Fail(std::string(kMalformed) + ": bad chunk");
      }
      continue;
    }
    if (c != '\n') {
      if (chunk_line_.size() >= kMaxChunkLine) {
        Fail(std::string(kMalformed) + ": bad chunk");
      } else {
        chunk_line_ += c;
      }
      continue;
    }
    std::string_view line = Trim(chunk_line_);
    if (chunk_ == ChunkPhase::kTrailer) {
      if (line.empty()) state_ = State::kDone;
      chunk_line_.clear();
      continue;
    }
    // kSize: hex digits, then maybe ";extension".
    uint64_t size = 0;
    size_t digits = 0;
    for (char h : line) {
      int v =
          isxdigit(static_cast<unsigned char>(h))
              ? (isdigit(static_cast<unsigned char>(h))
                     ? h - '0'
                     : std::tolower(static_cast<unsigned char>(h)) - 'a' + 10)
              : -1;
      if (v < 0) break;
      if (++digits > 15) break;
      size = size * 16 + static_cast<uint64_t>(v);
    }
    if (digits == 0 || digits > 15 ||
        (digits < line.size() && line[digits] != ';' && line[digits] != ' ' &&
         line[digits] != '\t')) {
      Fail(std::string(kMalformed) + ": bad chunk");
      continue;
    }
    chunk_line_.clear();
    if (size == 0) {
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
