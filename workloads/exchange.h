#pragma once

// A request/response exchange, as both of its ends see it: the server (the trial's sender
// thread, workloads/request_response.cc) reads each request, checks it and answers through
// the send strategy; the client (the receiving end, harness/trial/local_exchange_end.cc)
// writes the requests, reads and verifies each whole response and times it.
//
// The responses are the trial's pattern stream cut into response_size pieces (the last
// one shorter when a byte count ends the trial, as bulk's last message is), so the client
// checks every response byte against its stream offset. A request carries its sequence
// number: its first bytes (up to 8) are the number, little-endian, the rest a function of
// the number and the position; a 1-byte request carries the number modulo 256.
//
// Responses of their own sizes (file_serving: each response is one whole file): response
// k is responses[k mod N], N extents each with its length and the stream offset of its
// first byte, which is what the client checks it against. A connection per request: the
// requests still go on the trial's connection (the control connection), and each response
// comes on a new connection the server opens to the client for it (FTP's active mode),
// which the client accepts, reads the response from and closes.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "workloads/http_header.h"

namespace zcb {

// One response of a layout: its length, and the stream offset of its first byte.
struct ResponseExtent {
  uint64_t length = 0;
  uint64_t stream_offset = 0;
};

struct Exchange {
  uint64_t request_size = 1;
  uint64_t response_size = 0;               // the trial's message size
  uint64_t outstanding = 1;                 // requests in flight (netperf's burst + 1)
  std::chrono::microseconds think_time{0};  // the client's pause between a response and its next request
  std::optional<uint64_t> bytes;            // the trial's byte count: the responses' total, when given
  // Responses of their own sizes, cycled (null: every response is the next response_size
  // bytes of the stream). Each is sent whole: a byte count ends the exchange with the
  // response that reaches it.
  std::shared_ptr<const std::vector<ResponseExtent>> responses;
  bool connection_per_request = false;  // each response on a new connection (see above)
  // Each response starts with a generated HTTP head (workloads/http_header.h) before its
  // body of ResponseLength bytes: the client parses it, frames the body by its
  // Content-Length and compares it with the head it expects (http_response).
  std::optional<HttpHeaderFormat> http_headers;

  // The number of transactions the byte count allows (nullopt: no byte count).
  std::optional<uint64_t> TransactionLimit() const;
  // The length of response `sequence` (stream responses: shorter for the last one of a
  // byte count, 0 past it; responses of a layout are whole, and the caller keeps to
  // TransactionLimit()).
  uint64_t ResponseLength(uint64_t sequence) const;
  // The stream offset of response `sequence`'s first byte.
  uint64_t ResponseOffset(uint64_t sequence) const;
};

// The bytes of request `sequence` (out.size() is the request size).
void FillRequest(uint64_t sequence, std::span<uint8_t> out);
// The byte at `position` of request `sequence`.
uint8_t RequestByte(uint64_t sequence, uint64_t position);

}  // namespace zcb
