// Peers in the matrix: a spec's `peers` add entries beside its strategies, each kept only
// where the peer's capabilities hold (protocol, workload, message size, a path with a
// receiver here), the rest left out and listed with the reason.

#include <algorithm>

#include <gtest/gtest.h>

#include "harness/peers/peer_registry.h"
#include "harness/plan/matrix.h"
#include "harness/plan/parameters.h"
#include "harness/trial/trial_record.h"
#include "tests/spec_test_catalog.h"

namespace zcb {
namespace {

using testing::TestCatalog;

Matrix Expand(const std::string& text) {
  auto spec = ParseSpec(text, "m.toml", TestCatalog());
  EXPECT_TRUE(spec.ok()) << spec.error().what();
  if (!spec.ok()) return {};
  return ExpandMatrix(*spec, TestCatalog());
}

size_t PointsOf(const Matrix& m, const std::string& strategy) {
  return static_cast<size_t>(std::count_if(m.points.begin(), m.points.end(),
                                           [&](const MatrixPoint& p) { return p.spec.strategy == strategy; }));
}

const LeftOut* LeftOutFor(const Matrix& m, const std::string& combination) {
  for (const auto& l : m.left_out) {
    if (l.combination == combination) return &l;
  }
  return nullptr;
}

TEST(PeerMatrix, PeersExpandBesideTheStrategiesWhereTheirCapabilitiesHold) {
  const Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem"]
peers = ["iperf3", "iperf3_zerocopy", "sockperf"]
protocol = ["tcp", "udp"]
message_size = ["4K", "64K", "2M"]
path = ["lo", "dev"]
workload = ["bulk", "exchange"]
)");
  // tcp_mem: TCP only, 3 sizes x 2 paths x 2 workloads.
  EXPECT_EQ(PointsOf(m, "tcp_mem"), 12u);
  // iperf3 (and -Z): TCP bulk, at most 1 MiB: 4K and 64K on both paths.
  EXPECT_EQ(PointsOf(m, "iperf3"), 4u);
  EXPECT_EQ(PointsOf(m, "iperf3_zerocopy"), 4u);
  // sockperf: TCP and UDP bulk, at most 65507 bytes: 4K on both paths, both protocols.
  EXPECT_EQ(PointsOf(m, "sockperf"), 4u);
  EXPECT_EQ(m.points.size(), 24u);

  // A peer's point: its name in the strategy coordinate, its own source.
  const auto zc = std::find_if(m.points.begin(), m.points.end(),
                               [](const MatrixPoint& p) { return p.spec.strategy == "iperf3_zerocopy"; });
  ASSERT_NE(zc, m.points.end());
  EXPECT_EQ(zc->label, "tcp iperf3_zerocopy file 4K lo verify");
  EXPECT_EQ(zc->coords.at("strategy"), "iperf3_zerocopy");

  // What was left out says why.
  const LeftOut* big = LeftOutFor(m, "message_size=2097152 peer=iperf3");
  ASSERT_NE(big, nullptr);
  EXPECT_NE(big->reason.find("at most 1048576 bytes"), std::string::npos);
  const LeftOut* udp = LeftOutFor(m, "protocol=udp peer=iperf3");
  ASSERT_NE(udp, nullptr);
  EXPECT_NE(udp->reason.find("does not run over udp"), std::string::npos);
  const LeftOut* workload = LeftOutFor(m, "workload=exchange peer=sockperf");
  ASSERT_NE(workload, nullptr);
  EXPECT_NE(workload->reason.find("bulk only"), std::string::npos);
}

TEST(PeerMatrix, APeerIsAlsoAValueOfTheStrategyAxis) {
  const Matrix m = Expand(R"([matrix]
strategy = ["tcp_mem", "iperf3"]
message_size = ["64K"]
path = ["lo"]
)");
  EXPECT_EQ(PointsOf(m, "iperf3"), 1u);
  EXPECT_EQ(m.points.size(), 2u);
}

TEST(PeerMatrix, AnUnknownPeerIsASpecErrorListingThePeers) {
  auto spec = ParseSpec(R"([matrix]
strategy = ["tcp_mem"]
peers = ["netperf"]
)",
                        "m.toml", TestCatalog());
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().what().find("unknown peer 'netperf'"), std::string::npos) << spec.error().what();
  EXPECT_NE(spec.error().what().find("iperf3_zerocopy"), std::string::npos);
}

TEST(PeerMatrix, APeerResolvesToItsStandInAndItsAvailabilityNamesTheProgram) {
  TrialSpec spec;
  spec.strategy = "iperf3_zerocopy";
  spec.duration_s = 0.2;
  auto trial = ResolveTrial(spec);
  ASSERT_TRUE(trial.ok()) << trial.error().what();
  ASSERT_NE(trial->peer, nullptr);
  EXPECT_EQ(trial->peer->label(), "iperf3 -Z (peer)");
  EXPECT_EQ(trial->source, SourceKind::kFile);
  EXPECT_EQ(TrialParams::Of(*trial).ToJson().value("peer", ""), "iperf3 -Z (peer)");
}

}  // namespace
}  // namespace zcb
