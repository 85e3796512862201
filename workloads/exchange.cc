#include "workloads/exchange.h"

#include <algorithm>

namespace zcb {

std::optional<uint64_t> Exchange::TransactionLimit() const {
  if (!bytes) return std::nullopt;
  if (!responses || responses->empty()) return (*bytes + response_size - 1) / response_size;
  // Whole cycles of the layout, then the responses of the next one until the count is reached.
  uint64_t cycle = 0;
  for (const ResponseExtent& r : *responses) cycle += r.length;
  const uint64_t cycles = cycle == 0 ? 0 : *bytes / cycle;
  uint64_t limit = cycles * responses->size();
  uint64_t left = *bytes - cycles * cycle;
  for (size_t i = 0; left > 0 && i < responses->size(); ++i, ++limit) left -= std::min(left, (*responses)[i].length);
  return std::max<uint64_t>(limit, 1);
}

uint64_t Exchange::ResponseLength(uint64_t sequence) const {
  if (responses && !responses->empty()) return (*responses)[sequence % responses->size()].length;
  if (!bytes) return response_size;
  const uint64_t offset = sequence * response_size;
  return offset >= *bytes ? 0 : std::min(response_size, *bytes - offset);
}

uint64_t Exchange::ResponseOffset(uint64_t sequence) const {
  if (responses && !responses->empty()) return (*responses)[sequence % responses->size()].stream_offset;
  return sequence * response_size;
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
