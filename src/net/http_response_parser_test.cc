#include "net/http_response_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace watchd {
namespace {

using State = HttpResponseParser::State;

// Feeds `text` in pieces of `step` bytes, then Finish() if `close`.
HttpResponseParser Parse(const std::string& text, size_t step,
                         bool close = false, uint64_t max_body = 1 << 20,
                         bool head = false) {
  HttpResponseParser p(head, max_body, /*keep_body=*/true);
  for (size_t i = 0; i < text.size() && !p.final(); i += step) {
    p.Feed(std::string_view(text).substr(i, step));
  }
  if (close) p.Finish();
  return p;
}

// Every framing must give the same result however the bytes are split.
class SplitTest : public ::testing::TestWithParam<size_t> {};

TEST_P(SplitTest, ContentLength) {
  auto p =
      Parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", GetParam());
  EXPECT_EQ(p.state(), State::kDone);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.body(), "hello");
}

TEST_P(SplitTest, Chunked) {
  auto p = Parse(
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n",
      GetParam());
  EXPECT_EQ(p.state(), State::kDone);
  EXPECT_EQ(p.status(), 503);
  EXPECT_EQ(p.body(), "hello, world");
}

TEST_P(SplitTest, UntilCloseEndsAtFinish) {
  auto p = Parse("HTTP/1.0 200 OK\nServer: x\n\nall of it", GetParam());
  EXPECT_EQ(p.state(), State::kBody);
  EXPECT_EQ(p.Finish(), State::kDone);
  EXPECT_EQ(p.body(), "all of it");
}

TEST_P(SplitTest, InterimResponsesAreSkipped) {
  auto p = Parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
      GetParam());
  EXPECT_EQ(p.state(), State::kDone);
  EXPECT_EQ(p.status(), 201);
  EXPECT_EQ(p.body(), "ok");
}

TEST_P(SplitTest, BodyIsCutAtTheBound) {
  auto p = Parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
                 GetParam(), false, 4);
  EXPECT_EQ(p.state(), State::kTruncated);
  EXPECT_EQ(p.body(), "0123");
  EXPECT_EQ(p.body_bytes(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Pieces, SplitTest,
                         ::testing::Values(1, 2, 3, 7, 4096));

TEST(HttpResponseParserTest, BodyExactlyAtTheBoundIsComplete) {
  auto p =
      Parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd", 4096, false, 4);
  EXPECT_EQ(p.state(), State::kDone);
}

TEST(HttpResponseParserTest, NoBodyForHeadNoContentAndNotModified) {
  EXPECT_EQ(Parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 4096, false,
                  1 << 20, /*head=*/true)
                .state(),
            State::kDone);
  EXPECT_EQ(Parse("HTTP/1.1 204 No Content\r\n\r\n", 4096).state(),
            State::kDone);
  EXPECT_EQ(Parse("HTTP/1.1 304 Not Modified\r\n\r\n", 4096).state(),
            State::kDone);
  EXPECT_EQ(Parse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4096).state(),
            State::kDone);
}

TEST(HttpResponseParserTest, BodyIsCountedButNotKeptWithoutKeepBody) {
  HttpResponseParser p(false, 1 << 20, /*keep_body=*/false);
  p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(p.state(), State::kDone);
  EXPECT_EQ(p.body_bytes(), 3u);
  EXPECT_EQ(p.body(), "");
}

TEST(HttpResponseParserTest, Errors) {
  struct Case {
    std::string text;
    bool close;
    std::string error;
  };
  const Case cases[] = {
      {"", true, "empty reply"},
      {"garbage, not http\r\n\r\n", false, "malformed response"},
      {"HTTP/1.1 2xx OK\r\n\r\n", false, "malformed response"},
      {"HTTP/1.1 200OK\r\n\r\n", false, "malformed response"},
      {"HTTP/1.1 099 Low\r\n\r\n", false, "malformed response"},
      {"HTTP/1.9 200 OK\r\n\r\n", false, "malformed response"},
      {"HTTP/1.1 20", true, "empty reply"},
      {"HTTP/1.1 100 Continue\r\n\r\n", true, "response cut short"},
      {"HTTP/1.1 200 OK\r\nX-A" + std::string(1, '\0') + "b: c\r\n\r\n", false,
       "malformed response: NUL in header"},
      {"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", false,
       "malformed response: header without colon"},
      {"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", false,
       "malformed response: bad Content-Length"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       false, "malformed response: bad Content-Length"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false,
       "malformed response: bad chunk"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX", false,
       "malformed response: bad chunk"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
       "10000000000000002\r\n",
       false, "malformed response: bad chunk"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " +
           std::string(5000, 't') + "\r\n\r\n",
       false, "malformed response: bad chunk"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", true,
       "response cut short"},
      {"HTTP/1.1 200 OK\r\nContent-Le", true, "response cut short"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true,
       "response cut short"},
  };
  for (const Case& c : cases) {
    for (size_t step : {size_t{1}, size_t{4096}}) {
      auto p = Parse(c.text, step, c.close);
      EXPECT_EQ(p.state(), State::kError) << c.text << " step " << step;
      EXPECT_EQ(p.error(), c.error) << c.text << " step " << step;
    }
  }
}

TEST(HttpResponseParserTest, EndlessHeadersAreRefused) {
  HttpResponseParser p(false, 1 << 20, false);
  p.Feed("HTTP/1.1 200 OK\r\n");
  std::string header = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  for (int i = 0; i < 100 && !p.final(); ++i) p.Feed(header);
  EXPECT_EQ(p.state(), State::kError);
  EXPECT_EQ(p.error(), "malformed response: headers too long");
  EXPECT_EQ(p.status(), 200) << "the status line was read (curl reports it)";
}

TEST(HttpResponseParserTest, BytesAfterTheResponseAreIgnored) {
  HttpResponseParser p(false, 1 << 20, true);
  p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
  EXPECT_EQ(p.state(), State::kDone);
  EXPECT_EQ(p.body(), "ok");
  EXPECT_EQ(p.Finish(), State::kDone);
}

// watchd sends no TE, but a server that uses another coding anyway is up:
// the body is framed as RFC 9112 says (chunked when last, else to the
// close, Content-Length ignored) and marked as still coded.
TEST(HttpResponseParserTest,
     TransferCodingsOtherThanChunkedAreFramedAndMarked) {
  auto to_close = Parse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n"
      "\r\nzzz",
      4096, /*close=*/true);
  EXPECT_EQ(to_close.state(), State::kDone);
  EXPECT_EQ(to_close.body(), "zzz");
  EXPECT_TRUE(to_close.coded());
  auto chunked = Parse(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
      "3\r\nzzz\r\n0\r\n\r\n",
      4096);
  EXPECT_EQ(chunked.state(), State::kDone);
  EXPECT_EQ(chunked.body(), "zzz");
  EXPECT_TRUE(chunked.coded());
  for (const char* plain : {"chunked", "Chunked", "identity"}) {
    auto none =
        Parse(std::string("HTTP/1.1 204 No Content\r\nTransfer-Encoding: ") +
                  plain + "\r\n\r\n",
              4096);
    EXPECT_EQ(none.state(), State::kDone) << plain;
    EXPECT_FALSE(none.coded()) << plain;
  }
}

// What libcurl skips after a chunk size is skipped, however long.
TEST_P(SplitTest, ChunkSizeLineRestIsSkipped) {
  auto p = Parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;" +
                     std::string(100000, 'e') +
                     "\r\nok\r\n3 junk\r\n!!!\r\n0\r\n\r\n",
                 GetParam());
  EXPECT_EQ(p.state(), State::kDone);
  EXPECT_EQ(p.body(), "ok!!!");
}

}  // namespace
}  // namespace watchd
