// Host constraints: the sender CPU quota (cgroup) and the memory-bandwidth antagonist,
// applied during a trial and recorded with it.

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "drivers/host_constraints.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

using testing::ExpectVerified;
using testing::RunOrFail;
using testing::VerifiedStream;

TEST(HostConstraintsTest, ParsesQuotasAndCpuLists) {
  EXPECT_DOUBLE_EQ(*ParseCpuQuota("20%"), 0.2);
  EXPECT_DOUBLE_EQ(*ParseCpuQuota("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseCpuQuota("150%"), 1.5);
  EXPECT_FALSE(ParseCpuQuota("").has_value());
  EXPECT_FALSE(ParseCpuQuota("-1").has_value());
  EXPECT_FALSE(ParseCpuQuota("fast").has_value());
  EXPECT_EQ(*ParseCpuList("1"), std::vector<int>({1}));
  EXPECT_EQ(*ParseCpuList("0,1"), std::vector<int>({0, 1}));
  EXPECT_EQ(*ParseCpuList("0-2,5"), std::vector<int>({0, 1, 2, 5}));
  EXPECT_FALSE(ParseCpuList("").has_value());
  EXPECT_FALSE(ParseCpuList("1,").has_value());
  EXPECT_FALSE(ParseCpuList("0-").has_value());
  EXPECT_FALSE(ParseCpuList("-1").has_value());
  EXPECT_FALSE(ParseCpuList("3-1").has_value());
}

TEST(HostConstraintsTest, UsageErrorsAreCaughtBeforeTheTrial) {
  TrialSpec spec = VerifiedStream("write", 1 << 20);
  spec.constraints.sender_cpu_quota = 0.001;
  EXPECT_FALSE(ResolveTrial(spec).ok());
  spec.constraints.sender_cpu_quota.reset();
  spec.constraints.membw_cpus = {4096};
  auto resolved = ResolveTrial(spec);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().ToString().find("does not exist"), std::string::npos);
}

// Share of the elapsed time the sender thread was on a CPU.
double SenderShare(const nlohmann::json& record) {
  return record["metrics"]["cpu"]["sender_thread_s"].get<double>() / record["metrics"]["elapsed_s"].get<double>();
}

TEST(HostConstraintsTest, SenderCpuQuotaLowersTheSendersCpuTime) {
  ZCB_REQUIRE_ROOT();
  TrialSpec spec = VerifiedStream("write", 0);
  spec.bytes.reset();
  spec.duration_s = 1.0;
  spec.receiver = ReceiverMode::kDiscard;  // the receiver must not be what limits the sender
  const nlohmann::json free_run = RunOrFail(spec);
  ASSERT_EQ(free_run["status"], "ok") << free_run["error"];

  spec.constraints.sender_cpu_quota = 0.2;
  const nlohmann::json limited = RunOrFail(spec);
  ASSERT_EQ(limited["status"], "ok") << limited["error"];
  EXPECT_DOUBLE_EQ(limited["params"]["constraints"]["sender_cpu_quota"].get<double>(), 0.2);
  const auto& quota = limited["constraints"]["sender_cpu_quota"];
  EXPECT_EQ(quota["quota_us"], 20000u);
  EXPECT_EQ(quota["period_us"], 100000u);
  EXPECT_EQ(quota["threads"].size(), 1u);
  // A one-second trial spans about ten 100 ms periods (a few more with the set-up).
  const uint64_t periods = quota["cpu_stat"]["nr_periods"].get<uint64_t>();
  EXPECT_GE(periods, 5u) << quota.dump();
  EXPECT_LE(periods, 30u) << quota.dump();
  // A sender that never blocks for long wants far more than 20 ms per period, on an idle
  // machine or a busy one: the cgroup must have throttled it, in at most every period.
  const uint64_t throttled = quota["cpu_stat"]["nr_throttled"].get<uint64_t>();
  EXPECT_GT(throttled, 0u) << quota.dump();
  EXPECT_LE(throttled, periods) << quota.dump();
  // CFS bandwidth control caps the sender at 20 ms per 100 ms period, and it did run.
  EXPECT_LT(SenderShare(limited), 0.25) << limited["metrics"]["cpu"].dump();
  EXPECT_GT(SenderShare(limited), 0.0) << limited["metrics"]["cpu"].dump();
  // Whether the unconstrained sender got more depends on what else this machine runs:
  // compare the two only when it did.
  if (SenderShare(free_run) > 0.35) {
    EXPECT_LT(SenderShare(limited), SenderShare(free_run) * 0.7) << "free " << SenderShare(free_run);
  }
  // The cgroup is gone with the trial.
  EXPECT_FALSE(std::filesystem::exists(quota["cgroup"].get<std::string>()));
}

// The UDP runner applies the same quota to its sender thread.
TEST(HostConstraintsTest, SenderCpuQuotaAppliesToUdpTrials) {
  ZCB_REQUIRE_ROOT();
  TrialSpec spec;
  spec.protocol = Protocol::kUdp;
  spec.strategy = "sendto";
  spec.message_size = 1472;
  spec.duration_s = 1.0;
  spec.receiver = ReceiverMode::kDiscard;
  ApplyDefaultPinning(spec);
  spec.constraints.sender_cpu_quota = 0.2;
  const nlohmann::json limited = RunOrFail(spec);
  ASSERT_EQ(limited["status"], "ok") << limited["error"];
  const auto& quota = limited["constraints"]["sender_cpu_quota"];
  EXPECT_EQ(quota["quota_us"], 20000u);
  EXPECT_EQ(quota["threads"].size(), 1u);
  EXPECT_GT(quota["cpu_stat"]["nr_periods"].get<uint64_t>(), 0u) << quota.dump();
  EXPECT_LT(SenderShare(limited), 0.25) << limited["metrics"]["cpu"].dump();
  EXPECT_FALSE(std::filesystem::exists(quota["cgroup"].get<std::string>()));
}

TEST(HostConstraintsTest, MemoryBandwidthAntagonistRunsDuringTheTrial) {
  TrialSpec spec = VerifiedStream("write", 0);
  spec.bytes.reset();
  spec.duration_s = 0.3;
  spec.constraints.membw_cpus = {0};
  spec.constraints.membw_buffer_bytes = 8 << 20;
  const nlohmann::json record = RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& antagonist = record["constraints"]["membw_antagonist"];
  EXPECT_EQ(antagonist["cpus"], nlohmann::json::array({0}));
  EXPECT_EQ(antagonist["buffer_bytes"], 8u << 20);
  EXPECT_GT(antagonist["bytes_streamed"].get<uint64_t>(), 8u << 20);
  EXPECT_GT(antagonist["seconds"].get<double>(), 0.25);
  EXPECT_EQ(record["params"]["constraints"]["membw_antagonist_cpus"], nlohmann::json::array({0}));
  EXPECT_EQ(record["metrics"]["integrity"]["mismatches"], 0u);
}

}  // namespace
}  // namespace zcb
