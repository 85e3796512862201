#include "workloads/exchange.h"

#include <algorithm>

namespace zcb {

std::optional<uint64_t> Exchange::TransactionLimit() const {
  if (!bytes) return std::nullopt;
  return (*bytes + response_size - 1) / response_size;
}

uint64_t Exchange::ResponseLength(uint64_t sequence) const {
  if (!bytes) return response_size;
  const uint64_t offset = sequence * response_size;
  return offset >= *bytes ? 0 : std::min(response_size, *bytes - offset);
}

uint8_t RequestByte(uint64_t sequence, uint64_t position) {
  if (position < 8) return static_cast<uint8_t>(sequence >> (8 * position));
  // Past the number: a byte that depends on both, so that a request shifted or taken
  // from another sequence number differs.
  return static_cast<uint8_t>((sequence + position) * 0x9d);
}

void FillRequest(uint64_t sequence, std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) out[i] = RequestByte(sequence, i);
}

}  // namespace zcb
