#include "stack/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace zcb {
namespace {

// A value of `bits` significant bits >= kSubBucketBits + 1 is in octave bits - kSubBucketBits
// (1 for [128, 256)), where its top kSubBucketBits bits, 64..127, pick the bucket.
constexpr int kTopOctave = 64 - LatencyHistogram::kSubBucketBits;

}  // namespace

size_t LatencyHistogram::BucketCount() { return kExactBelow + static_cast<size_t>(kTopOctave) * kBucketsPerOctave; }

LatencyHistogram::LatencyHistogram() : counts_(BucketCount(), 0) {}

size_t LatencyHistogram::IndexOf(uint64_t value) {
  if (value < kExactBelow) return static_cast<size_t>(value);
  const int shift = std::bit_width(value) - kSubBucketBits;
  const uint64_t top = value >> shift;  // in [64, 128)
  return kExactBelow + static_cast<size_t>(shift - 1) * kBucketsPerOctave +
         static_cast<size_t>(top - kBucketsPerOctave);
}

uint64_t LatencyHistogram::LowestOf(size_t index) {
  if (index < kExactBelow) return index;
  const size_t above = index - kExactBelow;
  const int shift = static_cast<int>(above / kBucketsPerOctave) + 1;
  const uint64_t top = kBucketsPerOctave + above % kBucketsPerOctave;
  return top << shift;
}

uint64_t LatencyHistogram::HighestOf(size_t index) {
  if (index < kExactBelow) return index;
  const int shift = static_cast<int>((index - kExactBelow) / kBucketsPerOctave) + 1;
  return LowestOf(index) + ((uint64_t{1} << shift) - 1);
}

void LatencyHistogram::Record(uint64_t value) {
  ++counts_[IndexOf(value)];
  ++count_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += value;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

uint64_t LatencyHistogram::ValueAtQuantile(double q) const {
  if (count_ == 0) return 0;
  if (q >= 1.0) return max_;
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen < rank) continue;
    const uint64_t low = LowestOf(i);
    const uint64_t mid = low + (HighestOf(i) - low) / 2;
    return std::clamp(mid, min_, max_);
  }
  return max_;
}

std::vector<std::pair<uint64_t, uint64_t>> LatencyHistogram::NonEmptyBuckets() const {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] > 0) out.emplace_back(HighestOf(i), counts_[i]);
  }
  return out;
}

}  // namespace zcb
