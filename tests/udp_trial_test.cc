// UDP trials end to end over loopback: what each datagram strategy's own options do (batch
// sizes, GSO segments, GRO on the receiver), the receiver modes, and the limits as clear
// errors. That every strategy delivers datagrams of every size that verify and balance is
// tests/udp_conformance_test.cc.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness/trial/trial.h"
#include "stack/datagram.h"
#include "stack/udp_limits.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

using ::zcb::testing::ExpectBalancedAndVerified;
using ::zcb::testing::ExpectErrorNaming;
using ::zcb::testing::ExpectUsageErrorNaming;
using ::zcb::testing::RunOrFail;
using ::zcb::testing::UdpSpec;

struct SizeCase {
  size_t datagram;
  uint64_t count;
};

const SizeCase kSizes[] = {{1, 600}, {1472, 400}, {8972, 150}, {65507, 40}};

TEST(UdpTrialTest, SendmmsgDeliversVerifiedDatagramsOfEverySize) {
  for (const SizeCase& c : kSizes) {
    SCOPED_TRACE(c.datagram);
    // Batches small enough that a burst fits the receive queue.
    const std::string batch = c.datagram > 10000 ? "4" : "16";
    auto record = RunOrFail(UdpSpec("sendmmsg", c.datagram, c.count, {{"batch", batch}}));
    ExpectBalancedAndVerified(record, c.count);
    // One call per batch, the last one partial.
    const uint64_t b = std::stoull(batch);
    EXPECT_EQ(record["metrics"]["send_calls"], (c.count + b - 1) / b);
  }
}

TEST(UdpTrialTest, UdpGsoDeliversVerifiedDatagramsOfEverySize) {
  for (const SizeCase& c : kSizes) {
    SCOPED_TRACE(c.datagram);
    // As many segments per call as fit in 65507 bytes (and the kernel's segment limit).
    const size_t per_call = std::min<size_t>(kMaxUdpPayloadIpv4 / c.datagram, 64);
    const uint64_t calls = std::max<uint64_t>(c.count / per_call, 2);
    auto record =
        RunOrFail(UdpSpec("udp_gso", c.datagram * per_call, calls, {{"segment", std::to_string(c.datagram)}}));
    ExpectBalancedAndVerified(record, calls * per_call);
    EXPECT_EQ(record["metrics"]["send_calls"], calls);
    EXPECT_DOUBLE_EQ(record["metrics"]["udp"]["mean_datagram_bytes"].get<double>(), static_cast<double>(c.datagram));
  }
}

TEST(UdpTrialTest, UdpGsoWithASegmentThatDividesTheBufferAndOneThatDoesNot) {
  // 8000 / 1000: 8 equal datagrams per call.
  auto even = RunOrFail(UdpSpec("udp_gso", 8000, 50, {{"segment", "1000"}}));
  ExpectBalancedAndVerified(even, 50 * 8);
  // 8500 / 1000: 8 datagrams of 1000 and one of 500 per call.
  auto uneven = RunOrFail(UdpSpec("udp_gso", 8500, 50, {{"segment", "1000"}}));
  ExpectBalancedAndVerified(uneven, 50 * 9);
  EXPECT_NEAR(uneven["metrics"]["udp"]["mean_datagram_bytes"].get<double>(), 8500.0 / 9, 1e-9);
  // A remainder shorter than the zcbench header still verifies as far as it goes.
  ExpectBalancedAndVerified(RunOrFail(UdpSpec("udp_gso", 1007, 40, {{"segment", "100"}})), 40 * 11);
}

TEST(UdpTrialTest, GroReceiverSplitsCoalescedDatagrams) {
  auto spec = UdpSpec("udp_gso", 44 * 1472, 20, {{"segment", "1472"}});
  spec.gro = true;
  auto record = RunOrFail(spec);
  ExpectBalancedAndVerified(record, 20 * 44);
  EXPECT_TRUE(record["metrics"]["udp"]["gro"].get<bool>());
  EXPECT_GT(record["metrics"]["udp"]["coalesced_buffers"], 0u);
  EXPECT_NE(record["point"].get<std::string>().find(",gro"), std::string::npos);
}

TEST(UdpTrialTest, ReadAndDiscardReceiversCountWithoutChecking) {
  for (ReceiverMode mode : {ReceiverMode::kRead, ReceiverMode::kDiscard}) {
    for (bool gro : {false, true}) {
      SCOPED_TRACE(std::string(ToString(mode)) + (gro ? " gro" : ""));
      auto spec = UdpSpec("udp_gso", 20 * 1472, 30, {{"segment", "1472"}});
      spec.receiver = mode;
      spec.gro = gro;
      auto record = RunOrFail(spec);
      ASSERT_EQ(record["status"], "ok") << record["error"];
      const auto& udp = record["metrics"]["udp"];
      EXPECT_EQ(udp["datagrams_sent"], 600u);
      EXPECT_EQ(udp["datagrams_sent"].get<uint64_t>(),
                udp["datagrams_received"].get<uint64_t>() + udp["lost"].get<uint64_t>());
      EXPECT_EQ(record["metrics"]["integrity"]["verified_bytes"], 0u);
      EXPECT_NE(udp["goodput_counts"].get<std::string>().find("not checked"), std::string::npos);
    }
  }
}

TEST(UdpTrialTest, GeneratedSourceAndDurationMode) {
  auto spec = UdpSpec("sendmmsg", 1472, 1);
  spec.bytes.reset();
  spec.duration_s = 0.2;
  spec.rate_bps = 100'000'000;
  spec.source = SourceKind::kGenerated;
  auto record = RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& udp = record["metrics"]["udp"];
  EXPECT_GT(udp["datagrams_sent"], 100u);
  EXPECT_EQ(udp["datagrams_sent"].get<uint64_t>(),
            udp["datagrams_received"].get<uint64_t>() + udp["lost"].get<uint64_t>());
  EXPECT_EQ(record["metrics"]["integrity"]["mismatches"], 0u);
}

TEST(UdpTrialTest, OversizeDatagramIsAUsageErrorNamingTheLimit) {
  ExpectUsageErrorNaming(UdpSpec("sendto", 65508, 1), {"65508", "65507", "EMSGSIZE"});
  ExpectUsageErrorNaming(UdpSpec("sendmmsg", 70000, 1), {"70000", "65507"});
}

TEST(UdpTrialTest, GsoBufferOver64KiBIsAUsageErrorNamingTheLimit) {
  ExpectUsageErrorNaming(UdpSpec("udp_gso", 65536, 1), {"65536", "65507", "--size"});
}

TEST(UdpTrialTest, SegmentAbovePathMtuIsAnErrorNamingTheMtu) {
  // Loopback's route MTU (IP_MTU) is 65535: no segment above 65507 fits it.
  ExpectErrorNaming(RunOrFail(UdpSpec("udp_gso", 65507, 1, {{"segment", "65509"}})),
                    {"segment=65509", "path MTU of 65535", "largest segment on this path is 65507"});
  ExpectErrorNaming(RunOrFail(UdpSpec("udp_gso", 60000, 1, {{"segment", "70000"}})), {"70000", "65535"});
}

TEST(UdpTrialTest, TooManySegmentsPerCallIsAnErrorNamingTheLimit) {
  ExpectErrorNaming(RunOrFail(UdpSpec("udp_gso", 1000, 1, {{"segment", "1"}})), {"UDP_MAX_SEGMENTS", "1000 segments"});
}

TEST(UdpTrialTest, SendmmsgBatchOutOfRangeIsAUsageError) {
  auto resolved = ResolveTrial(UdpSpec("sendmmsg", 100, 1, {{"batch", "2000"}}));
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().ToString().find("batch=2000: expected 1 to 1024"), std::string::npos)
      << resolved.error().ToString();
}

TEST(UdpTrialTest, PacketTxRingIsUnsupportedOnAPathWithoutALinkLayer) {
  auto record = RunOrFail(UdpSpec("packet_tx_ring", 1472, 10));
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "unsupported");
  const std::string reason = record["error"];
  // Without CAP_NET_RAW the probe says so first; with it, the path's missing link layer.
  EXPECT_TRUE(reason.find("link layer") != std::string::npos || reason.find("CAP_NET_RAW") != std::string::npos)
      << reason;
}

TEST(UdpTrialTest, UsageErrors) {
  auto spec = UdpSpec("sendto", 100, 1);
  spec.receiver = ReceiverMode::kZeroCopy;
  EXPECT_FALSE(ResolveTrial(spec).ok());
  spec = UdpSpec("sendto", 100, 1);
  spec.protocol = Protocol::kTcp;
  EXPECT_FALSE(ResolveTrial(spec).ok()) << "sendto speaks UDP only";
  TrialSpec tcp;
  tcp.strategy = "write";
  tcp.bytes = 1000;
  tcp.gro = true;
  auto resolved = ResolveTrial(tcp);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().what().find("--gro"), std::string::npos);
}

}  // namespace
}  // namespace zcb
