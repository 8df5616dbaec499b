// An incremental HTTP/1.x response parser for the plain-http exchange: fed
// bytes as they arrive, split anywhere, it reads the status and the framing
// (Content-Length, chunked, or until the server closes) and collects the
// body up to a bound. Interim 1xx responses are skipped.
#ifndef WATCHD_NET_HTTP_RESPONSE_PARSER_H_
#define WATCHD_NET_HTTP_RESPONSE_PARSER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace watchd {

class HttpResponseParser {
 public:
  enum class State {
    kHead,  // reading the status line and headers
    kBody,
    kDone,       // the whole response was read
    kTruncated,  // max_body bytes of body read, more followed
    kError,      // error() says why
  };

  // A response to HEAD has no body whatever its headers say. The body is
  // counted always and kept (in body()) only when keep_body is set.
  HttpResponseParser(bool head_request, uint64_t max_body, bool keep_body);

  // Consumes data (all of it, unless the state becomes final first) and
  // returns the state. Calls after a final state change nothing.
  State Feed(std::string_view data);
  // The server closed the connection: an until-close body ends here; any
  // other unfinished response is an error.
  State Finish();

  State state() const { return state_; }
  bool final() const { return state_ >= State::kDone; }
  int status() const { return status_; }  // 0 before the status line
  const std::string& body() const { return body_; }
  uint64_t body_bytes() const { return body_read_; }
  // A transfer coding other than chunked (gzip...) was applied: body() is
  // still in it, since this client decodes none.
  bool coded() const { return coded_; }
  // "malformed response", "response cut short", "empty reply"...
  const std::string& error() const { return error_; }

  // Longest status line plus headers accepted.
  static constexpr size_t kMaxHead = 64 * 1024;

 private:
  enum class Framing { kLength, kChunked, kUntilClose };
  enum class ChunkPhase { kSize, kData, kDataEnd, kTrailer };

  // Consumes head bytes; returns how many of data it used.
  size_t FeedHead(std::string_view data);
  // Parses a complete head (status line, headers, blank line).
  void ParseHead(std::string_view head);
  size_t FeedBody(std::string_view data);
  size_t FeedChunked(std::string_view data);
  // Takes up to n body bytes of data; false once max_body is reached.
  bool TakeBody(std::string_view data);
  // Sets status_ from a whole first line in head_; false when there is
  // none or it is malformed.
  bool ReadStatusLine();
  void Fail(std::string why);

  bool head_request_;
  uint64_t max_body_;
  bool keep_body_;

  State state_ = State::kHead;
  bool coded_ = false;
  std::string head_;  // a head split across reads, until complete
  int status_ = 0;
  Framing framing_ = Framing::kUntilClose;
  uint64_t remaining_ = 0;  // of the body (kLength) or of the chunk
  ChunkPhase chunk_ = ChunkPhase::kSize;
  // The line being read in a chunked body: of a chunk size, its digits (and
  // their value, and whether the rest of the line is being skipped); of a
  // trailer, its length.
  size_t line_bytes_ = 0;
  uint64_t chunk_size_ = 0;
  bool in_extension_ = false;
  std::string body_;
  uint64_t body_read_ = 0;
  std::string error_;
};

}  // namespace watchd

#endif  // WATCHD_NET_HTTP_RESPONSE_PARSER_H_
