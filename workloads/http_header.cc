#include "workloads/http_header.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace zcb {
namespace {

constexpr std::string_view kStatusLine = "HTTP/1.1 200 OK\r\n";
constexpr std::string_view kEtagName = "ETag: \"zcb-";
// The fixed headers a web server sends with a static response.
constexpr std::string_view kFixedHeaders =
    "Content-Type: application/octet-stream\r\n"
    "Server: zcbench\r\n"
    "Cache-Control: max-age=60\r\n"
    "Connection: keep-alive\r\n";
constexpr std::string_view kPadName = "X-Pad: ";
constexpr std::string_view kEnd = "\r\n";
constexpr size_t kContentLengthDigits = 20;  // the most a uint64_t takes

static_assert(kStatusLine.size() + kEtagName.size() == kEtagDigitsOffset);

// The lengths of a header's parts but for the Content-Length digits and the pad.
size_t FixedPart() {
  return kStatusLine.size() + kEtagName.size() + kEtagDigits + 3 /* "\"\r\n" */ +
         std::string_view("Content-Length: ").size() + 2 + kFixedHeaders.size() + kPadName.size() + 2 + kEnd.size();
}

// A 64-bit mix (splitmix64's finaliser), so that neighbouring sequence numbers get
// unrelated header lengths.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void PutHex(uint64_t value, char* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < kEtagDigits; ++i) out[kEtagDigits - 1 - i] = kDigits[(value >> (4 * i)) & 0xf];
}

}  // namespace

size_t ShortestHttpHeader() { return FixedPart() + kContentLengthDigits; }

Status ValidateHttpHeaderFormat(const HttpHeaderFormat& format, std::string_view owner) {
  if (format.size > kLongestHttpHeader) {
    return Usagef("{} option header_size={}: at most {} bytes (the client's limit on a response head)", owner,
                  format.size, kLongestHttpHeader);
  }
  if (format.size < format.spread || format.size - format.spread < ShortestHttpHeader()) {
    return Usagef(
        "{} options header_size={} header_spread={}: the shortest header (header_size - header_spread) must be at "
        "least {} bytes, the status line and headers without padding",
        owner, format.size, format.spread, ShortestHttpHeader());
  }
  return OkStatus();
}

size_t HttpHeaderLength(const HttpHeaderFormat& format, uint64_t sequence) {
  return static_cast<size_t>(format.size - (format.spread == 0 ? 0 : Mix(sequence) % (format.spread + 1)));
}

size_t WriteHttpHeader(const HttpHeaderFormat& format, uint64_t sequence, uint64_t content_length,
                       std::span<uint8_t> out) {
  const size_t length = HttpHeaderLength(format, sequence);
  std::string head;
  head.reserve(length);
  head.append(kStatusLine).append(kEtagName);
  head.append(kEtagDigits, '0');
  PutHex(sequence, head.data() + kEtagDigitsOffset);
  head.append("\"\r\n");
  fmt::format_to(std::back_inserter(head), "Content-Length: {}\r\n", content_length);
  head.append(kFixedHeaders).append(kPadName);
  // The pad fills the head to its length; its letters change with the sequence too.
  const size_t pad = length - head.size() - 2 - kEnd.size();
  for (size_t i = 0; i < pad; ++i) head.push_back(static_cast<char>('a' + (sequence + i) % 26));
  head.append("\r\n").append(kEnd);
  std::memcpy(out.data(), head.data(), head.size());
  return head.size();
}

void WriteNextEtag(uint64_t sequence, std::span<uint8_t> out) {
  PutHex(sequence, reinterpret_cast<char*>(out.data() + kEtagDigitsOffset));
}

Result<ParsedHttpHeader> ParseHttpHeader(std::string_view head) {
  if (head.size() < kEnd.size() * 2 || head.substr(head.size() - 4) != "\r\n\r\n")
    return Errorf("a response head must end with an empty line (CRLF CRLF)");
  const size_t status_end = head.find("\r\n");
  const std::string_view status = head.substr(0, status_end);
  if (status.substr(0, 9) != "HTTP/1.1 ") return Errorf("the status line '{}' is not HTTP/1.1", status.substr(0, 40));
  if (status.substr(9, 4) != "200 ") return Errorf("the status line '{}' is not a 200 response", status.substr(0, 40));
  ParsedHttpHeader parsed;
  bool have_length = false;
  size_t at = status_end + 2;
  while (at < head.size() - 2) {
    const size_t line_end = head.find("\r\n", at);
    const std::string_view line = head.substr(at, line_end - at);
    at = line_end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return Errorf("the header line '{}' has no name and colon", line.substr(0, 40));
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "Content-Length") {
      if (have_length) return Errorf("two Content-Length headers");
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed.content_length);
      if (ec != std::errc() || end != value.data() + value.size() || value.empty())
        return Errorf("Content-Length '{}' is not a decimal byte count", value.substr(0, 40));
      have_length = true;
    } else if (name == "ETag" && value.size() == kEtagDigits + 6 && value.substr(0, 5) == "\"zcb-" &&
               value.back() == '"') {
      uint64_t tag = 0;
      const char* digits = value.data() + 5;
      const auto [end, ec] = std::from_chars(digits, digits + kEtagDigits, tag, 16);
      if (ec == std::errc() && end == digits + kEtagDigits) parsed.etag_sequence = tag;
    }
  }
  if (!have_length) return Errorf("no Content-Length header (the client frames the body by it)");
  return parsed;
}

}  // namespace zcb
