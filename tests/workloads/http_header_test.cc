// The generated HTTP head of http_response (workloads/http_header.h): lengths within the
// format's range and varying, a head that parses back to its Content-Length and ETag, the
// next ETag written in place without moving a byte of framing, and malformed heads
// refused with what is wrong.

#include "workloads/http_header.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace zcb {
namespace {

std::string Head(const HttpHeaderFormat& format, uint64_t sequence, uint64_t length) {
  std::vector<uint8_t> out(format.size);
  const size_t n = WriteHttpHeader(format, sequence, length, out);
  return std::string(out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
}

TEST(HttpHeader, LengthsStayInTheFormatsRangeAndVary) {
  const HttpHeaderFormat format{300, 64};
  std::set<size_t> lengths;
  for (uint64_t k = 0; k < 200; ++k) {
    const std::string head = Head(format, k, 65536);
    EXPECT_EQ(head.size(), HttpHeaderLength(format, k));
    EXPECT_GE(head.size(), 236u);
    EXPECT_LE(head.size(), 300u);
    lengths.insert(head.size());
  }
  EXPECT_GT(lengths.size(), 20u);  // the lengths vary from response to response
  EXPECT_EQ(HttpHeaderLength({300, 0}, 7), 300u);
}

TEST(HttpHeader, AHeadParsesBackToItsLengthAndSequence) {
  const HttpHeaderFormat format{400, 100};
  for (uint64_t k : {0ull, 1ull, 0xfedcba9876543210ull}) {
    const std::string head = Head(format, k, 1048576);
    auto parsed = ParseHttpHeader(head);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(parsed->content_length, 1048576u);
    ASSERT_TRUE(parsed->etag_sequence.has_value());
    EXPECT_EQ(*parsed->etag_sequence, k);
    EXPECT_EQ(head.substr(0, 17), "HTTP/1.1 200 OK\r\n");
    EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  }
}

TEST(HttpHeader, EveryResponsesHeadDiffers) {
  const HttpHeaderFormat format{300, 0};  // same lengths: only the contents can differ
  EXPECT_NE(Head(format, 1, 4096), Head(format, 2, 4096));
}

TEST(HttpHeader, TheNextEtagIsWrittenInPlaceAndChangesNothingElse) {
  const HttpHeaderFormat format{300, 64};
  std::vector<uint8_t> buffer(format.size);
  const size_t n = WriteHttpHeader(format, 41, 5000, buffer);
  const std::vector<uint8_t> before(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(n));
  WriteNextEtag(42, buffer);
  size_t changed = 0;
  for (size_t i = 0; i < n; ++i) {
    if (buffer[i] == before[i]) continue;
    ++changed;
    EXPECT_GE(i, kEtagDigitsOffset);
    EXPECT_LT(i, kEtagDigitsOffset + kEtagDigits);
  }
  EXPECT_GE(changed, 1u);
  auto parsed = ParseHttpHeader(std::string_view(reinterpret_cast<const char*>(buffer.data()), n));
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->content_length, 5000u);  // the framing is intact
  EXPECT_EQ(parsed->etag_sequence.value_or(0), 42u);
}

TEST(HttpHeader, MalformedHeadsAreRefusedSayingWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", "empty line"},
      {"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", "not HTTP/1.1"},
      {"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n", "not a 200"},
      {"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", "no Content-Length"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n", "not a decimal"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", "two Content-Length"},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "no name and colon"},
  };
  for (const auto& [head, words] : cases) {
    auto parsed = ParseHttpHeader(head);
    ASSERT_FALSE(parsed.ok()) << head;
    EXPECT_NE(parsed.error().ToString().find(words), std::string::npos) << parsed.error().ToString();
  }
}

TEST(HttpHeader, AFormatTooShortOrTooLongIsAUsageErrorNamingTheOption) {
  EXPECT_TRUE(ValidateHttpHeaderFormat({300, 64}, "workload http_response").ok());
  const Status short_head = ValidateHttpHeaderFormat({100, 0}, "workload http_response");
  ASSERT_FALSE(short_head.ok());
  EXPECT_NE(short_head.error().ToString().find("header_size"), std::string::npos) << short_head.error().ToString();
  EXPECT_FALSE(ValidateHttpHeaderFormat({300, 301}, "w").ok());
  const Status long_head = ValidateHttpHeaderFormat({9000, 0}, "w");
  ASSERT_FALSE(long_head.ok());
  EXPECT_NE(long_head.error().ToString().find("8192"), std::string::npos) << long_head.error().ToString();
  EXPECT_LE(ShortestHttpHeader(), 236u);  // the default format's shortest head fits
}

}  // namespace
}  // namespace zcb
