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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace zcb {

struct Exchange {
  uint64_t request_size = 1;
  uint64_t response_size = 0;               // the trial's message size
  uint64_t outstanding = 1;                 // requests in flight (netperf's burst + 1)
  std::chrono::microseconds think_time{0};  // the client's pause between a response and its next request
  std::optional<uint64_t> bytes;            // the trial's byte count: the responses' total, when given

  // The number of transactions the byte count allows (nullopt: no byte count).
  std::optional<uint64_t> TransactionLimit() const;
  // The length of response `sequence` (shorter for the last one of a byte count).
  uint64_t ResponseLength(uint64_t sequence) const;
};

// The bytes of request `sequence` (out.size() is the request size).
void FillRequest(uint64_t sequence, std::span<uint8_t> out);
// The byte at `position` of request `sequence`.
uint8_t RequestByte(uint64_t sequence, uint64_t position);

}  // namespace zcb
