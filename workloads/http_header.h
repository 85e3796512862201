#pragma once

// The generated header of an http_response (workloads/http_response.cc), as both ends see
// it: the server writes one per response into its header buffer, the client parses what
// arrives and compares it with the header it expects for that response.
//
// A header is an HTTP/1.1 response head: a status line, an ETag that carries the
// response's sequence number (so that every response's header differs from the one
// before), Content-Length (the client's framing), fixed headers as a web server sends
// them, and an X-Pad header whose length makes the whole head its target length. The
// target varies per response in [size - spread, size], a function of the sequence number
// alone, so that both ends know it without asking.
//
// The ETag's digits sit at a fixed offset (kEtagDigitsOffset) and width: a server that
// prepares its next header in the same buffer as soon as a send returns rewrites them
// (WriteNextEtag), and a send that read the buffer late then carries the next response's
// tag. The lengths stay, so the client still frames the response and counts it corrupted.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "stack/result.h"

namespace zcb {

struct HttpHeaderFormat {
  uint64_t size = 300;   // the longest header, bytes
  uint64_t spread = 64;  // header lengths vary in [size - spread, size]
};

inline constexpr size_t kEtagDigitsOffset = 28;  // after "HTTP/1.1 200 OK\r\nETag: \"zcb-"
inline constexpr size_t kEtagDigits = 16;        // the sequence number in hex
inline constexpr size_t kLongestHttpHeader = 8192;

// The shortest header the format can write (a Content-Length of 20 digits, no padding).
size_t ShortestHttpHeader();
// A usage error naming the option when `format` cannot be written.
Status ValidateHttpHeaderFormat(const HttpHeaderFormat& format, std::string_view owner);

// The length of response `sequence`'s header.
size_t HttpHeaderLength(const HttpHeaderFormat& format, uint64_t sequence);
// Writes response `sequence`'s header (a body of `content_length` bytes) into `out`
// (at least HttpHeaderLength bytes) and returns its length.
size_t WriteHttpHeader(const HttpHeaderFormat& format, uint64_t sequence, uint64_t content_length,
                       std::span<uint8_t> out);
// Rewrites the ETag digits of a header in `out` to those of `sequence`.
void WriteNextEtag(uint64_t sequence, std::span<uint8_t> out);

// What the client reads from a header.
struct ParsedHttpHeader {
  uint64_t content_length = 0;
  std::optional<uint64_t> etag_sequence;  // the ETag's number, when it is one of zcbench's
};
// Parses a whole head (the status line through the empty line). A head that is not an
// HTTP/1.1 200 response with one decimal Content-Length is an error saying what is wrong.
Result<ParsedHttpHeader> ParseHttpHeader(std::string_view head);

}  // namespace zcb
