#pragma once

// A latency histogram with bounded relative error, in the manner of HdrHistogram: values
// (nanoseconds) below 128 have a bucket each; above, every power of two [2^k, 2^(k+1)) is
// cut into 64 buckets of equal width. A bucket is then at most 1/64 of its lower edge
// wide, so reporting its midpoint is off by at most 1/128 (0.78%) of the value recorded:
// two significant digits over the whole 64-bit range, in 3776 counters (30 KiB), with a
// constant-time Record() and no allocation after construction.
//
// Percentiles are nearest-rank: the value at quantile q is the bucket holding the
// ceil(q * count)-th smallest value, reported as its midpoint and clamped to the exact
// minimum and maximum, which are kept beside the buckets (as is the exact sum, for the
// mean).

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace zcb {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 7;  // 128 exact values, then 64 buckets per octave
  static constexpr uint64_t kExactBelow = 1u << kSubBucketBits;
  static constexpr uint64_t kBucketsPerOctave = kExactBelow / 2;
  // The largest error of a reported value, relative to the value recorded.
  static constexpr double kRelativeError = 1.0 / static_cast<double>(2 * kBucketsPerOctave);

  LatencyHistogram();

  void Record(uint64_t value);
  // Adds every value `other` recorded (the histograms of parallel streams, one of all).
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ > 0 ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ > 0 ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // The value at quantile `q` (0 < q <= 1; 0.99 is p99); 0 when empty.
  uint64_t ValueAtQuantile(double q) const;

  // The non-empty buckets in increasing order, as (highest value of the bucket, count):
  // the compact form a record keeps.
  std::vector<std::pair<uint64_t, uint64_t>> NonEmptyBuckets() const;

  // The bucket of `value`, and a bucket's lowest and highest value.
  static size_t IndexOf(uint64_t value);
  static uint64_t LowestOf(size_t index);
  static uint64_t HighestOf(size_t index);
  static size_t BucketCount();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  uint64_t sum_ = 0;  // 2^64 ns is 584 years of recorded latency
};

}  // namespace zcb
