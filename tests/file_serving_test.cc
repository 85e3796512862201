// file_serving through whole trials, driven by the registries (no strategy named in the
// cases): every TCP strategy with the sends_responses capability serves a file set of
// uneven sizes over loopback, persistent and with a connection per request, and over a
// veth pair as root, every byte of every file verified and every request timed; the
// strategies without the capability are left out with the reason, never failed; bad file
// sets are usage errors naming what to fix.

#include <gtest/gtest.h>

#include <numeric>
#include <set>

#include "harness/trial/trial_resolve.h"
#include "stack/registry.h"
#include "tests/file_set_test_util.h"
#include "tests/trial_test_util.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

// Sizes that are neither page multiples nor alike: a mapping, a read buffer and a pipe
// each meet a partial page and a file larger than their piece.
const std::vector<uint64_t>& kSizes = testing::kTestFileSizes;
constexpr uint64_t kFiles = testing::kTestFiles;
constexpr uint64_t kPasses = 4;
constexpr uint64_t kReadBuffer = 64 * 1024;  // --size: the copying strategies' read buffer

uint64_t SetBytes() {
  uint64_t total = 0;
  for (uint64_t i = 0; i < kFiles; ++i) total += kSizes[i % kSizes.size()];
  return total;
}

const WorkloadInfo& FileServing() { return testing::RegisteredWorkload("file_serving"); }

TrialSpec FileServingSpec(const StrategyInfo& strategy, const std::map<std::string, std::string>& extra = {}) {
  return testing::FileSetTrial(strategy, "file_serving", kPasses * SetBytes(), kReadBuffer, extra);
}

// The strategies that serve the workload, from the registry.
std::vector<const StrategyInfo*> ServingStrategies() { return testing::StrategiesServing(FileServing()); }

// An ok record of kPasses passes over the set: every byte verified, every request timed,
// the per-request figures and the file set's facts present.
void ExpectSetServed(const nlohmann::json& record, const std::string& connection) {
  testing::ExpectVerified(record, kPasses * SetBytes());
  const auto& m = record["metrics"];
  const auto& rr = m["request_response"];
  ASSERT_TRUE(rr.is_object()) << m.dump();
  EXPECT_EQ(rr["transactions"].get<uint64_t>(), kPasses * kFiles);
  const auto& fs = m["file_serving"];
  ASSERT_TRUE(fs.is_object()) << m.dump();
  EXPECT_EQ(fs["requests"].get<uint64_t>(), kPasses * kFiles);
  EXPECT_GT(fs["requests_per_s"].get<double>(), 0.0);
  EXPECT_GT(fs["bytes_per_s"].get<double>(), 0.0);
  // CPU per request and per KiB are the same CPU time divided two ways.
  const double per_request = fs["cpu_ns_per_request"].get<double>();
  const double per_kib = fs["cpu_ns_per_kib"].get<double>();
  EXPECT_GT(per_request, 0.0);
  EXPECT_NEAR(per_request * static_cast<double>(kPasses * kFiles),
              per_kib * static_cast<double>(kPasses * SetBytes()) / 1024,
              per_request * 1e-6 * static_cast<double>(kPasses * kFiles));
  const auto& set = fs["file_set"];
  EXPECT_EQ(set["files"].get<uint64_t>(), kFiles);
  EXPECT_EQ(set["total_bytes"].get<uint64_t>(), SetBytes());
  EXPECT_EQ(set["smallest_bytes"].get<uint64_t>(), 1024u);
  EXPECT_EQ(set["largest_bytes"].get<uint64_t>(), 300001u);
  EXPECT_EQ(set["connection"], connection);
  EXPECT_EQ(set["cache"], "warm");
  EXPECT_TRUE(set["fits_page_cache"].get<bool>());
  EXPECT_GT(set["mem_available_bytes"].get<uint64_t>(), SetBytes());
}

TEST(FileServingTrial, TheRegistryHasServingStrategiesAndLeavesOthersOut) {
  const auto serving = ServingStrategies();
  EXPECT_GE(serving.size(), 5u);  // sendfile, mmap_write, write, splice, io_uring_send at least
  for (const StrategyInfo& info : AllStrategies()) {
    EXPECT_EQ(FileServing().Serves(info, Protocol::kTcp, info.DefaultSource()),
              info.Speaks(Protocol::kTcp) && info.caps.sends_responses)
        << info.name;
  }
}

TEST(FileServingTrial, EveryServingStrategyServesAVerifiedFileSetOverLoopback) {
  for (const StrategyInfo* info : ServingStrategies()) {
    SCOPED_TRACE(info->name);
    if (!testing::AvailableOrFailUnderCi(info->name)) continue;
    ExpectSetServed(testing::RunOrFail(FileServingSpec(*info)), "persistent");
  }
}

TEST(FileServingTrial, EveryServingStrategyServesWithAConnectionPerRequest) {
  for (const StrategyInfo* info : ServingStrategies()) {
    SCOPED_TRACE(info->name);
    if (!testing::AvailableOrFailUnderCi(info->name)) continue;
    ExpectSetServed(testing::RunOrFail(FileServingSpec(*info, {{"connection", "per_request"}})), "per_request");
  }
}

TEST(FileServingTrial, EveryServingStrategyOverVeth) {
  ZCB_REQUIRE_ROOT();
  for (const StrategyInfo* info : ServingStrategies()) {
    SCOPED_TRACE(info->name);
    if (!testing::AvailableOrFailUnderCi(info->name)) continue;
    TrialSpec spec = FileServingSpec(*info);
    spec.path = "veth";
    const nlohmann::json record = testing::RunOrFail(spec);
    ExpectSetServed(record, "persistent");
    EXPECT_EQ(record["path"]["name"], "veth");
  }
}

// A strategy without SendResponse is left out by its capability: refused before anything
// runs (a spec's matrix lists it as left out), naming the capability.
TEST(FileServingTrial, StrategiesWithoutTheCapabilityAreLeftOutNamingIt) {
  int left_out = 0;
  for (const StrategyInfo& info : AllStrategies()) {
    if (!info.Speaks(Protocol::kTcp) || info.caps.sends_responses) continue;
    SCOPED_TRACE(info.name);
    ++left_out;
    TrialSpec spec = FileServingSpec(info);
    auto path = FindPath("loopback");
    ASSERT_TRUE(path.ok());
    const auto gaps = CheckCompatibility(info, **path, spec, info.DefaultSource(), &FileServing());
    ASSERT_FALSE(gaps.empty());
    EXPECT_NE(gaps.front().reason.find("sends_responses"), std::string::npos) << gaps.front().reason;
    testing::ExpectUsageErrorNaming(spec, {"sends_responses", info.name});
  }
  EXPECT_GT(left_out, 0);
}

TEST(FileServingTrial, ADurationEndsTheRequestsCleanly) {
  auto info = FindStrategy("sendfile");
  ASSERT_TRUE(info.ok());
  TrialSpec spec = FileServingSpec(**info);
  spec.bytes.reset();
  spec.duration_s = 0.3;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const uint64_t requests = record["metrics"]["file_serving"]["requests"];
  EXPECT_GT(requests, 0u);
  // Whole files only: the bytes are the sizes of the files requested, in order.
  uint64_t expected = 0;
  for (uint64_t k = 0; k < requests; ++k) expected += testing::TestFileSize(k);
  EXPECT_EQ(record["metrics"]["bytes_received"].get<uint64_t>(), expected);
  EXPECT_EQ(record["metrics"]["integrity"]["mismatches"].get<uint64_t>(), 0u);
}

// With parallel streams each stream is a server of its own set (its workload made its
// files before the window, as the first stream's did), every byte of every stream verified.
TEST(FileServingTrial, EachParallelStreamServesItsOwnSetVerified) {
  auto info = FindStrategy("sendfile");
  ASSERT_TRUE(info.ok());
  TrialSpec spec = FileServingSpec(**info);
  spec.streams = 2;
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& per_stream = record["metrics"]["streams"]["per_stream"];
  ASSERT_EQ(per_stream.size(), 2u);
  for (const auto& stream : per_stream) {
    EXPECT_EQ(stream["bytes_received"].get<uint64_t>(), kPasses * SetBytes()) << stream.dump();
    EXPECT_EQ(stream["integrity"]["verified_bytes"].get<uint64_t>(), kPasses * SetBytes()) << stream.dump();
    EXPECT_EQ(stream["integrity"]["mismatches"].get<uint64_t>(), 0u) << stream.dump();
  }
  EXPECT_EQ(record["metrics"]["file_serving"]["requests"].get<uint64_t>(), 2 * kPasses * kFiles);
}

TEST(FileServingTrial, ASetLargerThanTheFileSystemNamesFileDir) {
  auto info = FindStrategy("sendfile");
  ASSERT_TRUE(info.ok());
  TrialSpec spec = FileServingSpec(**info, {});
  spec.workload_options = {{"files", "1000000"}, {"size", "1G"}};  // about a PiB
  const nlohmann::json record = testing::RunOrFail(spec);
  testing::ExpectErrorNaming(record, {"larger than", "--file-dir"});
}

TEST(FileServingTrial, AColdCacheOnTmpfsNamesFileDir) {
  auto info = FindStrategy("sendfile");
  ASSERT_TRUE(info.ok());
  const nlohmann::json record = testing::RunOrFail(FileServingSpec(**info, {{"cache", "cold"}}));
  testing::ExpectErrorNaming(record, {"cache=cold", "--file-dir"});
}

TEST(FileServingTrial, BadDistributionsAreUsageErrorsNamingTheOption) {
  auto info = FindStrategy("sendfile");
  ASSERT_TRUE(info.ok());
  TrialSpec spec = FileServingSpec(**info);
  spec.workload_options = {{"distribution", "list"}};
  testing::ExpectUsageErrorNaming(spec, {"no mass", "sizes="});
  spec.workload_options = {{"distribution", "list"}, {"sizes", "4K,12"}};
  testing::ExpectUsageErrorNaming(spec, {"option sizes", "'12'"});
  spec.workload_options = {{"distribution", "lognormal_pareto"}, {"min_size", "2M"}, {"max_size", "1M"}};
  testing::ExpectUsageErrorNaming(spec, {"min_size", "max_size", "no mass"});
  spec.workload_options = {{"distribution", "lognormal_pareto"}, {"body_mu", "40"}, {"tail_fraction", "0.5"}};
  testing::ExpectUsageErrorNaming(spec, {"body_mu", "no mass"});
  spec.workload_options = {{"distribution", "fixed"}, {"sizes", "4K"}};
  testing::ExpectUsageErrorNaming(spec, {"sizes", "distribution=list"});
}

}  // namespace
}  // namespace zcb
