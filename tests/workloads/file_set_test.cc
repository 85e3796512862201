// The file set's sizes and layout (workloads/file_set.h): each distribution gives the
// sizes it says, the same for the same seed, within [1 KiB, 1 GiB]; SURGE's lognormal
// body with a Pareto tail has its median and tail share where its parameters put them;
// files lie back to back on the pattern stream; a byte count ends an exchange of files
// with the file that reaches it; bad options are usage errors naming the option.

#include <gtest/gtest.h>

#include <algorithm>

#include "workloads/exchange.h"
#include "workloads/file_set.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

Result<FileSetSpec> SpecOf(const std::map<std::string, std::string>& given) {
  auto options = Options::Parse(FileSetOptions(), given, "workload file_serving");
  if (!options.ok()) return std::move(options).error();
  return FileSetSpecFrom(*options, "workload file_serving");
}

TEST(FileSet, FixedAndListSizes) {
  auto fixed = SpecOf({{"files", "3"}, {"size", "4K"}});
  ASSERT_TRUE(fixed.ok()) << fixed.error().ToString();
  EXPECT_EQ(FileSizes(*fixed), (std::vector<uint64_t>{4096, 4096, 4096}));
  auto list = SpecOf({{"files", "5"}, {"distribution", "list"}, {"sizes", "1K,2000,1M"}});
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  EXPECT_EQ(FileSizes(*list), (std::vector<uint64_t>{1024, 2000, 1 << 20, 1024, 2000}));
}

TEST(FileSet, TheLayoutPutsFilesBackToBackOnTheStream) {
  const auto layout = FileLayout({1024, 2000, 5});
  ASSERT_EQ(layout.size(), 3u);
  EXPECT_EQ(layout[0].stream_offset, 0u);
  EXPECT_EQ(layout[1].stream_offset, 1024u);
  EXPECT_EQ(layout[2].stream_offset, 3024u);
  EXPECT_EQ(layout[2].length, 5u);
}

TEST(FileSet, LognormalParetoHasSurgesMedianAndTailShare) {
  auto spec = SpecOf({{"files", "20000"}, {"distribution", "lognormal_pareto"}, {"size_seed", "7"}});
  ASSERT_TRUE(spec.ok()) << spec.error().ToString();
  std::vector<uint64_t> sizes = FileSizes(*spec);
  EXPECT_EQ(sizes, FileSizes(*spec));  // the same seed, the same sizes
  const auto in_tail = std::count_if(sizes.begin(), sizes.end(), [](uint64_t s) { return s >= 133'000; });
  // 7% of 20000 = 1400; a binomial's standard deviation is about 36.
  EXPECT_GT(in_tail, 1250);
  EXPECT_LT(in_tail, 1550);
  for (uint64_t s : sizes) {
    EXPECT_GE(s, kSmallestFile);
    EXPECT_LE(s, kLargestFile);
  }
  std::nth_element(sizes.begin(), sizes.begin() + sizes.size() / 2, sizes.end());
  const uint64_t median = sizes[sizes.size() / 2];
  // The body's median is e^9.357 = 11.6 KB, nudged up by the tail and the body's cut at k.
  EXPECT_GT(median, 9'000u);
  EXPECT_LT(median, 15'000u);
  auto other = SpecOf({{"files", "20000"}, {"distribution", "lognormal_pareto"}, {"size_seed", "8"}});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(FileSizes(*other), FileSizes(*spec));
}

TEST(FileSet, ABadDistributionNamesTheOption) {
  auto empty = SpecOf({{"distribution", "list"}});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(empty.error().ToString().find("no mass"), std::string::npos);
  auto fraction = SpecOf({{"distribution", "lognormal_pareto"}, {"tail_fraction", "1.5"}});
  ASSERT_FALSE(fraction.ok());
  EXPECT_NE(fraction.error().ToString().find("tail_fraction"), std::string::npos);
  auto word = SpecOf({{"distribution", "lognormal_pareto"}, {"body_sigma", "wide"}});
  ASSERT_FALSE(word.ok());
  EXPECT_NE(word.error().ToString().find("body_sigma"), std::string::npos);
  auto small = SpecOf({{"size", "512"}});
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().ToString().find("size"), std::string::npos);
}

TEST(FileSet, AByteCountEndsWithTheFileThatReachesIt) {
  Exchange x;
  x.responses = std::make_shared<const std::vector<ResponseExtent>>(FileLayout({100, 200, 300}));
  x.bytes = 600;  // one whole pass
  EXPECT_EQ(x.TransactionLimit(), 3u);
  x.bytes = 601;  // and one byte of the next: its first file, whole
  EXPECT_EQ(x.TransactionLimit(), 4u);
  x.bytes = 1500;  // two passes and 300 bytes: files 0 and 1 of the third
  EXPECT_EQ(x.TransactionLimit(), 8u);
  EXPECT_EQ(x.ResponseLength(7), 200u);
  EXPECT_EQ(x.ResponseOffset(7), 100u);
  x.bytes = 1;
  EXPECT_EQ(x.TransactionLimit(), 1u);
}

}  // namespace
}  // namespace zcb
