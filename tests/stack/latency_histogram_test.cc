// The latency histogram (stack/latency_histogram.h): every value lands in a bucket that
// holds it, the buckets tile the 64-bit range, and percentiles of known distributions come
// out within the stated relative error.

#include "stack/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace zcb {
namespace {

TEST(LatencyHistogram, BucketsTileTheRangeAndHoldTheirValues) {
  EXPECT_EQ(LatencyHistogram::LowestOf(0), 0u);
  for (size_t i = 0; i + 1 < LatencyHistogram::BucketCount(); ++i) {
    ASSERT_LE(LatencyHistogram::LowestOf(i), LatencyHistogram::HighestOf(i)) << i;
    ASSERT_EQ(LatencyHistogram::HighestOf(i) + 1, LatencyHistogram::LowestOf(i + 1)) << i;
  }
  EXPECT_EQ(LatencyHistogram::HighestOf(LatencyHistogram::BucketCount() - 1), UINT64_MAX);
  std::mt19937_64 rng(7);
  for (int n = 0; n < 100000; ++n) {
    const uint64_t v = rng() >> (rng() % 64);
    const size_t i = LatencyHistogram::IndexOf(v);
    ASSERT_LT(i, LatencyHistogram::BucketCount());
    ASSERT_LE(LatencyHistogram::LowestOf(i), v);
    ASSERT_GE(LatencyHistogram::HighestOf(i), v);
    // A bucket's width is at most 1/64 of its lowest value (exact below 128).
    const uint64_t width = LatencyHistogram::HighestOf(i) - LatencyHistogram::LowestOf(i) + 1;
    if (v < LatencyHistogram::kExactBelow) {
      ASSERT_EQ(width, 1u) << v;
    } else {
      ASSERT_LE(static_cast<double>(width), static_cast<double>(LatencyHistogram::LowestOf(i)) / 64.0) << v;
    }
  }
}

TEST(LatencyHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100u);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 50u);
  EXPECT_EQ(h.ValueAtQuantile(0.9), 90u);
  EXPECT_EQ(h.ValueAtQuantile(0.99), 99u);
  EXPECT_EQ(h.ValueAtQuantile(1.0), 100u);
  EXPECT_EQ(h.NonEmptyBuckets().size(), 100u);
}

// The exact nearest-rank percentile of `sorted`.
uint64_t Exact(const std::vector<uint64_t>& sorted, double q) {
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size()))));
  return sorted[rank - 1];
}

void ExpectPercentilesWithinError(std::vector<uint64_t> values) {
  LatencyHistogram h;
  for (uint64_t v : values) h.Record(v);
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.25, 0.5, 0.9, 0.99, 0.999}) {
    const double exact = static_cast<double>(Exact(values, q));
    const double got = static_cast<double>(h.ValueAtQuantile(q));
    EXPECT_LE(std::abs(got - exact), exact * LatencyHistogram::kRelativeError + 0.5) << "q=" << q << " exact " << exact;
  }
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.count(), values.size());
  uint64_t in_buckets = 0;
  uint64_t previous = 0;
  for (const auto& [highest, count] : h.NonEmptyBuckets()) {
    EXPECT_GT(highest, previous);
    previous = highest;
    in_buckets += count;
  }
  EXPECT_EQ(in_buckets, values.size());
}

TEST(LatencyHistogram, UniformPercentilesWithinTheStatedError) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<uint64_t> uniform(1000, 2000000);
  std::vector<uint64_t> values(200000);
  for (auto& v : values) v = uniform(rng);
  ExpectPercentilesWithinError(values);
}

TEST(LatencyHistogram, HeavyTailedPercentilesWithinTheStatedError) {
  // Log-normal around 20 us with a tail to tens of milliseconds: what loopback RR looks like.
  std::mt19937_64 rng(2);
  std::lognormal_distribution<double> lognormal(std::log(20000.0), 1.0);
  std::vector<uint64_t> values(200000);
  for (auto& v : values) v = static_cast<uint64_t>(lognormal(rng));
  ExpectPercentilesWithinError(values);
}

TEST(LatencyHistogram, OneRepeatedValueIsReportedExactly) {
  LatencyHistogram h;
  for (int i = 0; i < 1000; ++i) h.Record(123456789);
  // Clamped to the exact min and max, which are that value.
  EXPECT_EQ(h.ValueAtQuantile(0.5), 123456789u);
  EXPECT_EQ(h.ValueAtQuantile(0.999), 123456789u);
  EXPECT_DOUBLE_EQ(h.mean(), 123456789.0);
  ASSERT_EQ(h.NonEmptyBuckets().size(), 1u);
  EXPECT_GE(h.NonEmptyBuckets()[0].first, 123456789u);
}

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.ValueAtQuantile(0.5), 0u);
  EXPECT_TRUE(h.NonEmptyBuckets().empty());
}

// Parallel streams keep a histogram each; the trial's is their merge: the same as one
// histogram that recorded every value.
TEST(LatencyHistogram, AMergeIsTheHistogramOfEveryValue) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 7) {
    a.Record(v * 3);
    all.Record(v * 3);
  }
  for (uint64_t v = 200; v < 90000; v += 13) {
    b.Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  EXPECT_EQ(a.NonEmptyBuckets(), all.NonEmptyBuckets());
  EXPECT_EQ(a.ValueAtQuantile(0.99), all.ValueAtQuantile(0.99));
  LatencyHistogram empty;
  empty.Merge(LatencyHistogram());
  EXPECT_EQ(empty.count(), 0u);
  EXPECT_EQ(empty.min(), 0u);
}

}  // namespace
}  // namespace zcb
