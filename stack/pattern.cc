#include "stack/pattern.h"

#include <endian.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace zcb {
namespace {

constexpr uint64_t kWordStep = 0x9E3779B97F4A7C15ull;  // odd: i -> i*K is a bijection

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Pattern::Pattern(uint64_t seed, size_t period) : seed_(seed), period_(period) {
  if (period == 0 || period % 8 != 0) throw std::invalid_argument("pattern period must be a positive multiple of 8");
  reference_.resize(2 * period);
  const uint64_t base = SplitMix64(seed);
  const size_t words = period / 8;
  for (size_t i = 0; i < words; ++i) {
    const uint64_t word = htole64(base ^ (i * kWordStep));
    std::memcpy(reference_.data() + i * 8, &word, 8);
  }
  std::memcpy(reference_.data() + period, reference_.data(), period);
}

void Pattern::Fill(uint64_t offset, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    const size_t n = std::min(out.size() - done, period_);
    std::memcpy(out.data() + done, View(offset + done), n);
    done += n;
  }
}

ptrdiff_t Pattern::FindMismatch(uint64_t offset, std::span<const uint8_t> data) const {
  size_t done = 0;
  while (done < data.size()) {
    const size_t n = std::min(data.size() - done, period_);
    const uint8_t* expected = View(offset + done);
    // memcmp is the fast path (vectorised by libc); only a failed chunk is scanned.
    if (std::memcmp(data.data() + done, expected, n) != 0) {
      for (size_t i = 0; i < n; ++i) {
        if (data[done + i] != expected[i]) return static_cast<ptrdiff_t>(done + i);
      }
    }
    done += n;
  }
  return -1;
}

uint64_t Pattern::CountMismatches(uint64_t offset, std::span<const uint8_t> data) const {
  uint64_t count = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != *View(offset + i)) ++count;
  }
  return count;
}

}  // namespace zcb
