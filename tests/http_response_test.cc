// http_response through whole trials, driven by the registries (no strategy named in the
// conformance cases): every TCP strategy with the sends_responses capability serves
// generated HTTP heads and bodies of uneven sizes over loopback, and over a veth pair as
// root, every head parsed and compared and every body byte verified; the strategies
// without the capability are left out naming it; unsafe_reuse of a memfd ring, whose
// pages the receiver's socket queue holds by reference until the client reads them, is
// caught as corrupted responses.

#include <gtest/gtest.h>

#include "harness/trial/trial_resolve.h"
#include "stack/registry.h"
#include "tests/file_set_test_util.h"
#include "tests/trial_test_util.h"
#include "workloads/http_header.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

constexpr uint64_t kFiles = testing::kTestFiles;
constexpr uint64_t kPasses = 3;
constexpr uint64_t kRequests = kPasses * kFiles;
constexpr uint64_t kBuffer = 512 * 1024;  // --size: writev's read buffer, memfd_sendfile's ring slot
const HttpHeaderFormat kFormat{300, 64};  // the workload's defaults

uint64_t BodyBytes() {
  uint64_t total = 0;
  for (uint64_t k = 0; k < kRequests; ++k) total += testing::TestFileSize(k);
  return total;
}

// Every byte the client reads: each response's head (its length known from its sequence
// number) and body.
uint64_t ResponseBytes() {
  uint64_t total = BodyBytes();
  for (uint64_t k = 0; k < kRequests; ++k) total += HttpHeaderLength(kFormat, k);
  return total;
}

const WorkloadInfo& HttpResponse() { return testing::RegisteredWorkload("http_response"); }

TrialSpec HttpSpec(const StrategyInfo& strategy, const std::map<std::string, std::string>& extra = {}) {
  return testing::FileSetTrial(strategy, "http_response", BodyBytes(), kBuffer, extra);
}

std::vector<const StrategyInfo*> ServingStrategies() { return testing::StrategiesServing(HttpResponse()); }

// An ok record of kRequests responses: every head and body byte read and verified, none
// corrupted, the per-request figures present.
void ExpectServed(const nlohmann::json& record) {
  ASSERT_TRUE(record.is_object());
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  EXPECT_EQ(m["bytes_received"].get<uint64_t>(), ResponseBytes());
  EXPECT_EQ(m["bytes_sent"].get<uint64_t>(), ResponseBytes());
  EXPECT_EQ(m["integrity"]["verified_bytes"].get<uint64_t>(), ResponseBytes());
  EXPECT_EQ(m["integrity"]["mismatches"].get<uint64_t>(), 0u);
  const auto& rr = m["request_response"];
  EXPECT_EQ(rr["transactions"].get<uint64_t>(), kRequests);
  EXPECT_EQ(rr["corrupted_responses"].get<uint64_t>(), 0u);
  const auto& http = m["http_response"];
  ASSERT_TRUE(http.is_object()) << m.dump();
  EXPECT_EQ(http["requests"].get<uint64_t>(), kRequests);
  EXPECT_EQ(http["corrupted_responses"].get<uint64_t>(), 0u);
  EXPECT_GT(http["requests_per_s"].get<double>(), 0.0);
  EXPECT_GT(http["cpu_ns_per_request"].get<double>(), 0.0);
  EXPECT_EQ(http["header_size"].get<uint64_t>(), kFormat.size);
}

TEST(HttpResponseTrial, TheRegistryHasThePairStrategiesAndLeavesOthersOut) {
  const auto serving = ServingStrategies();
  EXPECT_GE(serving.size(), 5u);  // writev, sendfile, memfd_sendfile, msg_zerocopy, io_uring_send_zc at least
  for (const StrategyInfo& info : AllStrategies()) {
    EXPECT_EQ(HttpResponse().Serves(info, Protocol::kTcp, info.DefaultSource()),
              info.Speaks(Protocol::kTcp) && info.caps.sends_responses)
        << info.name;
  }
}

TEST(HttpResponseTrial, EveryServingStrategyServesVerifiedResponsesOverLoopback) {
  for (const StrategyInfo* info : ServingStrategies()) {
    SCOPED_TRACE(info->name);
    if (!testing::AvailableOrFailUnderCi(info->name)) continue;
    ExpectServed(testing::RunOrFail(HttpSpec(*info)));
  }
}

TEST(HttpResponseTrial, EveryServingStrategyOverVeth) {
  ZCB_REQUIRE_ROOT();
  for (const StrategyInfo* info : ServingStrategies()) {
    SCOPED_TRACE(info->name);
    if (!testing::AvailableOrFailUnderCi(info->name)) continue;
    TrialSpec spec = HttpSpec(*info);
    spec.path = "veth";
    const nlohmann::json record = testing::RunOrFail(spec);
    ExpectServed(record);
    EXPECT_EQ(record["path"]["name"], "veth");
  }
}

TEST(HttpResponseTrial, GeneratedBodiesAreServedVerified) {
  for (const char* name : {"writev", "sendfile"}) {
    SCOPED_TRACE(name);
    auto info = FindStrategy(name);
    ASSERT_TRUE(info.ok());
    const nlohmann::json record = testing::RunOrFail(HttpSpec(**info, {{"body", "generated"}}));
    ExpectServed(record);
    EXPECT_EQ(record["metrics"]["http_response"]["body"], "generated");
  }
}

TEST(HttpResponseTrial, StrategiesWithoutTheCapabilityAreLeftOutNamingIt) {
  int left_out = 0;
  for (const StrategyInfo& info : AllStrategies()) {
    if (!info.Speaks(Protocol::kTcp) || info.caps.sends_responses) continue;
    SCOPED_TRACE(info.name);
    ++left_out;
    TrialSpec spec = HttpSpec(info);
    auto path = FindPath("loopback");
    ASSERT_TRUE(path.ok());
    const auto gaps = CheckCompatibility(info, **path, spec, info.DefaultSource(), &HttpResponse());
    ASSERT_FALSE(gaps.empty());
    EXPECT_NE(gaps.front().reason.find("sends_responses"), std::string::npos) << gaps.front().reason;
  }
  EXPECT_GT(left_out, 0);
}

// memfd_sendfile with unsafe_reuse inverts each slot's body right after sendfile()
// returns. Over loopback the receiver's socket queue holds the memfd's pages by reference
// until the client reads them, so the client reads the inverted bytes: the kernel really
// sends late here. The heads are left, so every response still frames.
TEST(HttpResponseTrial, UnsafeReuseOfTheMemfdRingIsCaughtAsCorruptedResponses) {
  auto info = FindStrategy("memfd_sendfile");
  ASSERT_TRUE(info.ok());
  TrialSpec spec = HttpSpec(**info);
  spec.options["unsafe_reuse"] = "true";
  const nlohmann::json record = testing::RunOrFail(spec);
  ASSERT_EQ(record["status"], "ok") << record["error"];
  const auto& m = record["metrics"];
  const uint64_t corrupted = m["http_response"]["corrupted_responses"];
  EXPECT_GE(corrupted, 1u);
  EXPECT_LE(corrupted, kRequests);
  EXPECT_EQ(m["request_response"]["corrupted_responses"].get<uint64_t>(), corrupted);
  EXPECT_GT(m["integrity"]["mismatches"].get<uint64_t>(), 0u);
  EXPECT_LE(m["integrity"]["mismatches"].get<uint64_t>(), BodyBytes());  // bodies only: heads intact
  EXPECT_EQ(m["bytes_received"].get<uint64_t>(), ResponseBytes());
}

// The lending strategies' unsafe_reuse on the head: the record counts what the client saw
// (on this machine's loopback the kernel copies lent pages at delivery, before the call
// returns, so none may be seen); the accounting holds either way.
TEST(HttpResponseTrial, UnsafeReuseOfALentHeadIsCountedWithinBounds) {
  for (const StrategyInfo* info : ServingStrategies()) {
    if (!info->caps.lends_buffers || !info->caps.supports_unsafe_reuse) continue;
    SCOPED_TRACE(info->name);
    if (!testing::AvailableOrFailUnderCi(info->name)) continue;
    TrialSpec spec = HttpSpec(*info);
    spec.options["unsafe_reuse"] = "true";
    const nlohmann::json record = testing::RunOrFail(spec);
    ASSERT_EQ(record["status"], "ok") << record["error"];
    const auto& m = record["metrics"];
    const uint64_t corrupted = m["http_response"]["corrupted_responses"];
    EXPECT_LE(corrupted, kRequests);
    EXPECT_EQ(corrupted > 0, m["integrity"]["mismatches"].get<uint64_t>() > 0);
    EXPECT_EQ(m["request_response"]["transactions"].get<uint64_t>(), kRequests);
  }
}

TEST(HttpResponseTrial, AHeadTooShortIsAUsageErrorNamingHeaderSize) {
  auto info = FindStrategy("writev");
  ASSERT_TRUE(info.ok());
  testing::ExpectUsageErrorNaming(HttpSpec(**info, {{"header_size", "64"}}), {"header_size", "http_response"});
}

}  // namespace
}  // namespace zcb
