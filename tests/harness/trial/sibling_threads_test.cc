// The placement policy of the `siblings` axis (harness/trial/sibling_threads.h): CPUs
// other than the sender's and the receiver's first, the receiver's only when no other is
// left, never the sender's; too many is unsupported with the count and the CPUs, an
// unpinned sender a usage error.

#include "harness/trial/sibling_threads.h"

#include <gtest/gtest.h>

namespace zcb {
namespace {

std::vector<int> Placed(int count, std::optional<int> sender, std::optional<int> receiver,
                        const std::vector<int>& allowed) {
  auto placed = PlaceSiblings(count, sender, receiver, allowed);
  EXPECT_TRUE(placed.ok()) << placed.error().ToString();
  return placed.ok() ? *placed : std::vector<int>{};
}

TEST(SiblingPlacement, OtherCpusFirstThenTheReceiversNeverTheSenders) {
  EXPECT_EQ(Placed(0, 0, 1, {0, 1}), std::vector<int>{});
  EXPECT_EQ(Placed(1, 0, 1, {0, 1}), std::vector<int>{1});  // a 2-CPU machine: beside the receiver
  EXPECT_EQ(Placed(2, 0, 1, {0, 1, 2, 3}), (std::vector<int>{2, 3}));
  EXPECT_EQ(Placed(3, 0, 1, {0, 1, 2, 3}), (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(Placed(2, 3, 0, {0, 1, 2, 3}), (std::vector<int>{1, 2}));
  EXPECT_EQ(Placed(2, 1, std::nullopt, {0, 1, 2}), (std::vector<int>{0, 2}));
  // Sender and receiver on one CPU: that CPU is the sender's.
  EXPECT_EQ(Placed(1, 0, 0, {0, 1}), std::vector<int>{1});
  // 64 siblings where there are 65 CPUs.
  std::vector<int> many;
  for (int cpu = 0; cpu <= 64; ++cpu) many.push_back(cpu);
  const std::vector<int> placed = Placed(64, 0, 1, many);
  ASSERT_EQ(placed.size(), 64u);
  EXPECT_EQ(placed.front(), 2);
  EXPECT_EQ(placed.back(), 1);
}

TEST(SiblingPlacement, MoreSiblingsThanCpusIsUnsupportedWithTheReason) {
  for (int count : {2, 64}) {
    auto placed = PlaceSiblings(count, 0, 1, {0, 1});
    ASSERT_FALSE(placed.ok()) << count;
    EXPECT_EQ(placed.error().kind(), ErrorKind::kUnsupported);
    const std::string why = placed.error().ToString();
    EXPECT_NE(why.find(fmt::format("siblings = {}", count)), std::string::npos) << why;
    EXPECT_NE(why.find("2 CPUs (0,1)"), std::string::npos) << why;
    EXPECT_NE(why.find("at most 1 sibling here"), std::string::npos) << why;
  }
  auto one_cpu = PlaceSiblings(1, std::nullopt, std::nullopt, {0});
  ASSERT_FALSE(one_cpu.ok());
  EXPECT_EQ(one_cpu.error().kind(), ErrorKind::kUnsupported);
}

TEST(SiblingPlacement, AnUnpinnedSenderIsAUsageError) {
  auto placed = PlaceSiblings(1, std::nullopt, 1, {0, 1, 2});
  ASSERT_FALSE(placed.ok());
  EXPECT_EQ(placed.error().kind(), ErrorKind::kUsage);
  EXPECT_NE(placed.error().ToString().find("--sender-cpu"), std::string::npos) << placed.error().ToString();
}

TEST(SiblingThreads, RecordSaysWhatWasAskedAndWherePlaced) {
  TrialSpec spec;
  spec.siblings = 0;
  spec.sibling_mode = SiblingMode::kSleep;
  auto none = SiblingThreads::Start(spec);
  ASSERT_TRUE(none.ok());
  const nlohmann::json asked = (*none)->ToJson();
  EXPECT_EQ(asked["count"], 0);
  EXPECT_EQ(asked["mode"], "sleep");
  EXPECT_TRUE(asked["cpus"].empty());
  EXPECT_TRUE(asked["threads"].empty());
  EXPECT_FALSE(asked["policy"].get<std::string>().empty());

  auto cpus = AllowedCpus();
  ASSERT_TRUE(cpus.ok());
  if (cpus->size() < 2) GTEST_SKIP() << "one CPU: no sibling can be placed (the placement test covers the refusal)";
  spec.siblings = 1;
  spec.sender_cpu = cpus->front();
  spec.receiver_cpu = cpus->back();
  auto one = SiblingThreads::Start(spec);
  ASSERT_TRUE(one.ok()) << one.error().ToString();
  (*one)->Stop();
  const nlohmann::json placed = (*one)->ToJson();
  ASSERT_EQ(placed["threads"].size(), 1u);
  EXPECT_EQ(placed["cpus"], nlohmann::json::array({placed["threads"][0]["cpu"]}));
  EXPECT_NE(placed["threads"][0]["cpu"].get<int>(), cpus->front());
  EXPECT_EQ(placed["threads"][0]["shares_receiver_cpu"].get<bool>(), cpus->size() == 2);
  EXPECT_GT(placed["threads"][0]["tid"].get<int>(), 0);
}

}  // namespace
}  // namespace zcb
