// The `siblings` axis in whole trials (harness/trial/sibling_threads.h): mmap_write unmaps
// every message, so that with a sibling spinning on another CPU each munmap must shoot
// down that CPU's TLB too. The test measures the mechanism (the trial thread's remote
// shootdown requests per MiB, tlb:tlb_flush), never a speed; and asking for more siblings
// than there are CPUs besides the sender's is an unsupported record with the reason.

#include <thread>

#include <gtest/gtest.h>

#include "harness/probes/probe_suite.h"
#include "harness/trial/trial.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

constexpr uint64_t kMessage = 16 * 1024;
constexpr uint64_t kMessages = 1024;  // 16 MiB

TrialSpec MmapWriteWithSiblings(int siblings, SiblingMode mode) {
  TrialSpec spec = testing::VerifiedStream("mmap_write", kMessages * kMessage, kMessage);
  spec.receiver = ReceiverMode::kDiscard;
  spec.siblings = siblings;
  spec.sibling_mode = mode;
  return spec;
}

// The trial thread's remote TLB shootdown requests per MiB delivered.
double ShootdownsSentPerMib(const nlohmann::json& record) {
  const auto& m = record["metrics"];
  const double mib = m["bytes_received"].get<double>() / (1024.0 * 1024.0);
  return m["probes"]["tlb_flush"]["remote_ipi_send"]["count_in_trial"].get<double>() / mib;
}

TEST(SiblingTrials, ASpinningSiblingMakesMunmapShootDownMoreTlbsPerMib) {
  ZCB_REQUIRE_ROOT();
  if (std::thread::hardware_concurrency() < 2) ZCB_SKIP_OR_FAIL_UNDER_CI("a sibling needs a second CPU");
  auto suite = ProbeSuite::Open(*ParseProbeSelection("ebpf,tlb_flush,ipi"));  // both off by default
  ASSERT_TRUE(suite.ok()) << suite.error().ToString();
  // Alternating pairs, so that a change of the machine's load hits both sides.
  double without = 0, with = 0;
  nlohmann::json last_with;
  for (int pair = 0; pair < 2; ++pair) {
    const nlohmann::json none = testing::RunOrFail(MmapWriteWithSiblings(0, SiblingMode::kSpin), suite->probes());
    ASSERT_EQ(none["status"], "ok") << none["error"];
    ASSERT_TRUE(none["metrics"]["probes"]["tlb_flush"].is_object()) << none["metrics"]["probes"].dump();
    EXPECT_EQ(none["params"]["siblings"]["count"], 0);
    EXPECT_TRUE(none["params"]["siblings"]["threads"].empty());
    without += ShootdownsSentPerMib(none);

    last_with = testing::RunOrFail(MmapWriteWithSiblings(1, SiblingMode::kSpin), suite->probes());
    ASSERT_EQ(last_with["status"], "ok") << last_with["error"];
    with += ShootdownsSentPerMib(last_with);
  }
  const auto& siblings = last_with["params"]["siblings"];
  EXPECT_EQ(siblings["count"], 1);
  EXPECT_EQ(siblings["mode"], "spin");
  ASSERT_EQ(siblings["threads"].size(), 1u) << siblings.dump();
  EXPECT_NE(siblings["threads"][0]["cpu"], last_with["params"]["sender_cpu"]);
  // It spun through the trial.
  EXPECT_GT(siblings["threads"][0]["cpu_time_ns"].get<uint64_t>(), 1'000'000u) << siblings.dump();

  // One munmap per message (64 per MiB of 16 KiB messages): with a sibling running on the
  // other CPU most of them need a remote shootdown, without one only those that find the
  // receiver running there. At most one request per munmap, plus some slack for the
  // odd other flush: a double count would exceed it.
  const double per_mib = 1024.0 * 1024.0 / kMessage;
  EXPECT_GT(with, without) << "per MiB, two trials each: with a sibling " << with / 2 << ", without " << without / 2
                           << "; " << last_with["metrics"]["probes"]["tlb_flush"].dump();
  EXPECT_GE(with / 2, per_mib / 4) << last_with["metrics"]["probes"]["tlb_flush"].dump();
  EXPECT_LE(with / 2, per_mib * 1.5) << last_with["metrics"]["probes"]["tlb_flush"].dump();
}

TEST(SiblingTrials, MoreSiblingsThanCpusIsUnsupportedWithTheReason) {
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  for (int siblings : {cpus, 64}) {
    if (siblings < cpus) continue;  // a host with more than 64 CPUs places 64
    const nlohmann::json record = testing::RunOrFail(MmapWriteWithSiblings(siblings, SiblingMode::kSpin));
    ASSERT_TRUE(record.is_object());
    EXPECT_EQ(record["status"], "unsupported") << record.dump();
    const std::string why = record["error"].dump();
    EXPECT_NE(why.find(fmt::format("siblings = {}", siblings)), std::string::npos) << why;
    EXPECT_NE(why.find("besides the sender's"), std::string::npos) << why;
    EXPECT_EQ(record["params"]["siblings"]["count"], siblings);
    EXPECT_TRUE(record["params"]["siblings"]["threads"].empty());
  }
}

}  // namespace
}  // namespace zcb
