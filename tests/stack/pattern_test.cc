#include "stack/pattern.h"

#include <gtest/gtest.h>

#include <vector>

namespace zcb {
namespace {

TEST(PatternTest, AnyByteIsAFunctionOfSeedAndOffset) {
  Pattern pattern(7, 4096);
  std::vector<uint8_t> whole(3 * 4096 + 100);
  pattern.Fill(0, whole);
  // The same bytes come out of any split and any starting offset.
  for (uint64_t start : {0ull, 1ull, 7ull, 4095ull, 4096ull, 8191ull, 12000ull}) {
    std::vector<uint8_t> part(whole.size() - start);
    pattern.Fill(start, part);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + start)) << "start " << start;
    EXPECT_EQ(pattern.FindMismatch(start, part), -1);
  }
}

TEST(PatternTest, PeriodicWithItsPeriod) {
  Pattern pattern(7, 4096);
  std::vector<uint8_t> a(100), b(100);
  pattern.Fill(10, a);
  pattern.Fill(10 + 4096 * 5, b);
  EXPECT_EQ(a, b);
}

TEST(PatternTest, SeedsDiffer) {
  std::vector<uint8_t> a(64), b(64);
  Pattern(1).Fill(0, a);
  Pattern(2).Fill(0, b);
  EXPECT_NE(a, b);
}

TEST(PatternTest, NoTwoWordsOfAPeriodAreEqual) {
  Pattern pattern(3, 64 * 1024);
  std::vector<uint64_t> words(64 * 1024 / 8);
  pattern.Fill(0, {reinterpret_cast<uint8_t*>(words.data()), 64 * 1024});
  std::sort(words.begin(), words.end());
  EXPECT_EQ(std::adjacent_find(words.begin(), words.end()), words.end());
}

TEST(PatternTest, FindsTheFirstMismatchAndCountsThem) {
  Pattern pattern(9);
  std::vector<uint8_t> data(1 << 20);
  pattern.Fill(333, data);
  data[500000] ^= 1;
  data[700000] ^= 0xff;
  EXPECT_EQ(pattern.FindMismatch(333, data), 500000);
  EXPECT_EQ(pattern.CountMismatches(333, data), 2u);
  // Data shifted by one byte is wrong almost everywhere.
  EXPECT_EQ(pattern.FindMismatch(334, data), 0);
}

TEST(PatternTest, RejectsABadPeriod) {
  EXPECT_THROW(Pattern(1, 0), std::invalid_argument);
  EXPECT_THROW(Pattern(1, 12), std::invalid_argument);
}

}  // namespace
}  // namespace zcb
