// The parts of parallel streams that need no trial: where each stream's threads are
// pinned (spread over successive CPUs from the first stream's, or all on the first
// stream's), which receiving ends take several streams (a remote end refuses, naming the
// parameter and the reason), and the spread figures across streams (Jain's index).

#include "harness/trial/stream_set.h"

#include <gtest/gtest.h>

#include "harness/trial/receiving_end.h"

namespace zcb {
namespace {

TEST(PlaceStreams, SpreadWalksSuccessiveCpusFromTheFirstStreams) {
  TrialSpec spec;
  spec.streams = 5;
  spec.sender_cpu = 0;
  spec.receiver_cpu = 1;
  const std::vector<StreamCpuPins> pins = PlaceStreams(spec, /*cpus=*/4);
  ASSERT_EQ(pins.size(), 5u);
  const int senders[] = {0, 1, 2, 3, 0}, receivers[] = {1, 2, 3, 0, 1};
  for (size_t i = 0; i < pins.size(); ++i) {
    EXPECT_EQ(pins[i].sender, senders[i]) << i;
    EXPECT_EQ(pins[i].receiver, receivers[i]) << i;
  }
}

TEST(PlaceStreams, TheFirstStreamKeepsItsCpusAsGiven) {
  // A CPU that does not exist stays what was asked, so that pinning fails naming it.
  TrialSpec spec;
  spec.streams = 2;
  spec.sender_cpu = 1000;
  const std::vector<StreamCpuPins> pins = PlaceStreams(spec, 2);
  EXPECT_EQ(pins[0].sender, 1000);
  EXPECT_EQ(pins[1].sender, 1);  // 1001 wrapped
}

TEST(PlaceStreams, SameKeepsEveryStreamOnTheFirstStreamsCpusAndUnpinnedStaysUnpinned) {
  TrialSpec spec;
  spec.streams = 3;
  spec.sender_cpu = 1;
  spec.stream_cpus = StreamCpus::kSame;
  for (const StreamCpuPins& pins : PlaceStreams(spec, 2)) {
    EXPECT_EQ(pins.sender, 1);
    EXPECT_FALSE(pins.receiver.has_value());
  }
  spec.stream_cpus = StreamCpus::kSpread;
  for (const StreamCpuPins& pins : PlaceStreams(spec, 2)) EXPECT_FALSE(pins.receiver.has_value());
}

TEST(CheckParallelStreams, LocalEndsTakeManyTheRemoteOnesRefuseNamingStreams) {
  for (const ReceivingEndKind& kind : LocalReceivingEnds()) {
    EXPECT_TRUE(CheckParallelStreams(kind, 64).ok()) << kind.name;
  }
  for (const ReceivingEndKind& kind : SinkReceivingEnds()) {
    EXPECT_TRUE(CheckParallelStreams(kind, 64).ok()) << kind.name;
  }
  const std::vector<ReceivingEndKind> remote = RemoteReceivingEnds();
  ASSERT_FALSE(remote.empty());
  for (const ReceivingEndKind& kind : remote) {
    EXPECT_TRUE(CheckParallelStreams(kind, 1).ok()) << kind.name;
    Status refused = CheckParallelStreams(kind, 2);
    ASSERT_FALSE(refused.ok()) << kind.name;
    EXPECT_EQ(refused.error().kind(), ErrorKind::kUnsupported);
    EXPECT_NE(refused.error().what().find("streams"), std::string::npos) << refused.error().what();
  }
}

TEST(StreamSpread, JainsIndexIsOneWhenEvenAndOneOverNWhenOneStreamHasAll) {
  const StreamSpread even = SpreadOf({5, 5, 5, 5});
  EXPECT_DOUBLE_EQ(even.jain.value_or(0), 1.0);
  EXPECT_DOUBLE_EQ(even.min, 5.0);
  EXPECT_DOUBLE_EQ(even.max, 5.0);
  EXPECT_DOUBLE_EQ(even.mean, 5.0);
  const StreamSpread one = SpreadOf({0, 8, 0, 0});
  EXPECT_DOUBLE_EQ(one.jain.value_or(0), 0.25);
  EXPECT_EQ(one.slowest, 0u);
  EXPECT_DOUBLE_EQ(one.max, 8.0);
  const StreamSpread uneven = SpreadOf({4, 2, 6});
  EXPECT_EQ(uneven.slowest, 1u);
  EXPECT_NEAR(uneven.jain.value_or(0), 144.0 / (3 * 56.0), 1e-12);
  // No stream delivered anything: no index (0/0), the reason says so.
  EXPECT_FALSE(SpreadOf({0, 0}).jain.has_value());
}

}  // namespace
}  // namespace zcb
