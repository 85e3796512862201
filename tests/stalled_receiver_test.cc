// A receiver that stops reading in the middle of a trial (receiver_stall_after, the fault
// option of the local TCP receiver): every registered TCP strategy, in every workload it
// serves with a one-way stream, ends the trial with an error that says the receiver stopped
// reading, within a few receive timeouts (kBoundS), never later. A strategy that blocked
// in a send, a sendfile, a splice or an io_uring completion wait past its timeout would
// be seen here only when the receiver gives up (its own bound, far beyond the slack), so
// a blocking point without a timeout fails this test. A strategy added to the registry is
// covered here without a line of test.

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stack/registry.h"
#include "tests/trial_test_util.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

constexpr double kReceiveTimeoutS = 1.0;
// A send that moves a few bytes before its timeout returns them, and the next call waits
// again: sendfile, splice and vmsplice were seen to take about four timeouts here before a
// call moved nothing. Plus set-up, tear-down and a busy 2-CPU machine; still well under the
// receiver's own bound (StalledReceiverBound: four timeouts and 5 s).
constexpr double kBoundS = 4 * kReceiveTimeoutS + 2.5;

struct Case {
  std::string strategy;
  std::string workload;
};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const WorkloadInfo& workload : AllWorkloads()) {
    auto made = CreateWorkload(workload.name, {});
    if (!made.ok() || (*made)->expectation() != ReceiverExpectation::kPatternStream) continue;
    for (const auto& info : AllStrategies()) {
      if (!workload.Serves(info, Protocol::kTcp, info.caps.sources.front())) continue;
      cases.push_back({info.name, workload.name});
    }
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.workload + "_" + info.param.strategy;
}

class StalledReceiverTest : public ::testing::TestWithParam<Case> {};

TEST_P(StalledReceiverTest, TheTrialFailsWithTheReasonWithinTheTimeout) {
  const Case& c = GetParam();
  ZCB_SKIP_IF_UNAVAILABLE(c.strategy);
  auto info = FindStrategy(c.strategy);
  ASSERT_TRUE(info.ok());
  // Far more than the socket buffers hold, for far longer than the timeout: only the
  // stall can end this trial early.
  TrialSpec spec = testing::VerifiedStream(c.strategy, 0);
  spec.bytes.reset();
  spec.duration_s = 60;
  spec.workload = c.workload;
  spec.source = (*info)->caps.sources.front();
  spec.receive_timeout_s = kReceiveTimeoutS;
  spec.receiver_stall_after = 256 * 1024;

  const auto start = std::chrono::steady_clock::now();
  const nlohmann::json record = testing::RunOrFail(spec);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record["status"], "error");
  const std::string error = record["error"].is_string() ? record["error"].get<std::string>() : "";
  EXPECT_NE(error.find("stopped reading"), std::string::npos) << error;
  // Not the receiver giving up on a sender that hung: the sender noticed first.
  EXPECT_EQ(error.find("still connected"), std::string::npos) << error;
  EXPECT_GE(seconds, kReceiveTimeoutS * 0.9) << error;  // it did wait for the stalled peer
  EXPECT_LT(seconds, kBoundS) << error;
  // What arrived before the stall is counted, and no more than was sent.
  const auto& m = record["metrics"];
  ASSERT_TRUE(m.is_object()) << error;
  EXPECT_GE(m["bytes_received"].get<uint64_t>(), 256u * 1024);
  EXPECT_LE(m["bytes_received"].get<uint64_t>(), m["bytes_sent"].get<uint64_t>());
}

INSTANTIATE_TEST_SUITE_P(AllTcpStrategies, StalledReceiverTest, ::testing::ValuesIn(AllCases()), CaseName);

// The fault is an option of the local TCP receiver only: elsewhere it is refused, named.
TEST(StalledReceiver, TheOptionIsRefusedForUdp) {
  TrialSpec spec = testing::VerifiedStream("sendto", 1 << 20);
  spec.protocol = Protocol::kUdp;
  spec.message_size = 1024;
  spec.receiver_stall_after = 4096;
  auto resolved = ResolveTrial(spec);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().ToString().find("receiver_stall_after"), std::string::npos) << resolved.error().ToString();
}

}  // namespace
}  // namespace zcb
