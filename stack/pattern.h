#pragma once

// The payload pattern. Byte `o` of a stream with seed `s` and period `P` is byte
// (o mod 8) of the little-endian word W((o mod P) / 8), where W(i) = Mix(s) ^ (i * K) and
// K is odd (so W is a bijection of i and no two words of a period are equal).
//
// Why periodic: a sender can then keep one static buffer (or one file) of P + message
// bytes and send any stream offset from it without touching the data in the timed
// window, and the receiver can check any byte against a reference copy with memcmp,
// which runs far faster than the network. TCP's exact byte counts catch whole periods
// lost or repeated; the pattern catches everything else (stale, shifted or foreign bytes).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace zcb {

class Pattern {
 public:
  static constexpr size_t kDefaultPeriod = 256 * 1024;

  // `period` must be a positive multiple of 8.
  Pattern(uint64_t seed, size_t period = kDefaultPeriod);

  uint64_t seed() const { return seed_; }
  size_t period() const { return period_; }

  // The stream bytes [offset, offset + out.size()).
  void Fill(uint64_t offset, std::span<uint8_t> out) const;

  // Two periods back to back, so that any window of up to one period starting at
  // (offset mod P) is contiguous: View(offset, n) for n <= period.
  const uint8_t* View(uint64_t offset) const { return reference_.data() + offset % period_; }

  // Index of the first byte of `data` (stream bytes from `offset`) that differs from the
  // pattern, or -1 when all match.
  ptrdiff_t FindMismatch(uint64_t offset, std::span<const uint8_t> data) const;
  // Number of bytes of `data` that differ from the pattern (slow path, after a mismatch).
  uint64_t CountMismatches(uint64_t offset, std::span<const uint8_t> data) const;

 private:
  uint64_t seed_;
  size_t period_;
  std::vector<uint8_t> reference_;  // 2 * period bytes
};

}  // namespace zcb
