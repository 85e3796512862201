// Whole UDP trials over the sink path, where nothing delivers locally: the zero-copy
// strategies (msg_zerocopy, io_uring_send_zc) see their lent pages go out without a copy
// (more than 90% of the completions zero-copy), sendto is the copying baseline beside them
// (it lends nothing and reports no completions); the sink's counts are what the trial
// delivered, integrity is null with its reason, TCP is left out with a reason, and the
// namespaces (with their links and tc filters) are gone afterwards. Needs root; under CI
// a missing privilege is a failure.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "drivers/network_path.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_resolve.h"
#include "stack/registry.h"
#include "tests/trial_test_util.h"
#include "tests/udp_test_util.h"

namespace zcb {
namespace {

using ::zcb::testing::AvailableOrFailUnderCi;
using ::zcb::testing::RunOrFail;
using ::zcb::testing::UdpSpec;

constexpr uint64_t kDatagram = 1400;
constexpr uint64_t kCount = 3000;

nlohmann::json RunOverSink(const std::string& strategy) {
  TrialSpec spec = UdpSpec(strategy, kDatagram, kCount);
  spec.path = "sink";
  return RunOrFail(spec);
}

// An ok record whose delivered bytes are what the sink counted: every datagram, once.
void ExpectCountedBySink(const nlohmann::json& record) {
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  const auto& udp = m["udp"];
  ASSERT_TRUE(udp.contains("sink")) << udp.dump();
  EXPECT_EQ(udp["datagrams_sent"], kCount);
  EXPECT_EQ(udp["sink"]["udp_datagrams"], kCount) << udp.dump();
  EXPECT_EQ(udp["datagrams_received"], kCount);
  EXPECT_EQ(udp["lost"], 0u);
  EXPECT_EQ(udp["sink"]["other_skbs"], 0u);
  EXPECT_EQ(m["bytes_sent"], kDatagram * kCount);
  EXPECT_EQ(m["bytes_received"], kDatagram * kCount);
  EXPECT_GT(m["goodput_bps"].get<double>(), 0.0);
  EXPECT_EQ(udp["end"], "the sink counted every datagram sent");
  // No receiver: nothing could check the bytes, and the record says why.
  EXPECT_TRUE(m["integrity"].is_null());
  EXPECT_NE(m["integrity_reason"].get<std::string>().find("no receiver"), std::string::npos);
  const std::string device = record["path"]["sink"]["sink_device"];
  EXPECT_TRUE(device == "dummy" || device == "veth+tc_drop") << device;
  EXPECT_EQ(udp["sink"]["sink_device"], device);
  for (const auto& ns : record["path"]["namespaces"]) {
    EXPECT_FALSE(std::filesystem::exists("/run/netns/" + ns.get<std::string>())) << ns;
  }
}

class SinkZeroCopyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SinkZeroCopyTest, MostCompletionsAreZeroCopy) {
  ZCB_REQUIRE_ROOT();
  const std::string& strategy = GetParam();
  ZCB_SKIP_IF_UNAVAILABLE(strategy);
  const nlohmann::json record = RunOverSink(strategy);
  ExpectCountedBySink(record);
  const auto& zc = record["metrics"]["zerocopy"];
  ASSERT_TRUE(zc.is_object()) << record["metrics"].dump();
  const uint64_t completions = zc["completions"], zerocopy = zc["zerocopy"], copied = zc["copied"];
  // One completion per datagram, none lost or counted twice, and (what loopback and a
  // delivering veth never show) more than 90% of them without a copy.
  EXPECT_EQ(completions, kCount);
  EXPECT_EQ(zerocopy + copied, completions);
  EXPECT_GT(zerocopy * 10, completions * 9) << zc.dump();
}

INSTANTIATE_TEST_SUITE_P(Sink, SinkZeroCopyTest,
                         ::testing::Values(std::string("msg_zerocopy"), std::string("io_uring_send_zc")));

TEST(SinkTrialTest, SendtoIsTheCopyingBaseline) {
  ZCB_REQUIRE_ROOT();
  const nlohmann::json record = RunOverSink("sendto");
  ExpectCountedBySink(record);
  // sendto lends nothing: there are no completions to count.
  EXPECT_TRUE(record["metrics"]["zerocopy"].is_null()) << record["metrics"]["zerocopy"].dump();
}

TEST(SinkTrialTest, TcpIsLeftOutWithAReason) {
  TrialSpec spec = ::zcb::testing::VerifiedStream("write", 1 << 20);
  spec.path = "sink";
  // Not a usage error: the request is fine, the path cannot serve it.
  auto resolved = ResolveTrial(spec);
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToString();
  auto path = FindPath("sink");
  ASSERT_TRUE(path.ok());
  const auto gaps = CheckCompatibility(*resolved->strategy, **path, spec, resolved->source);
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].kind, Incompatibility::Kind::kPath);
  EXPECT_NE(gaps[0].Message().find("no receiver"), std::string::npos) << gaps[0].Message();
  // The trial is an unsupported record naming it, without setting the path up.
  const nlohmann::json record = RunTrial(*resolved, TrialContext{});
  EXPECT_EQ(record["status"], "unsupported");
  EXPECT_NE(record["error"].get<std::string>().find("no TCP handshake"), std::string::npos) << record["error"];
  EXPECT_FALSE(record.contains("path"));
}

}  // namespace
}  // namespace zcb
