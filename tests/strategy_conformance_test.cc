// Conformance: every registered TCP strategy, in every registered workload it can serve,
// from every payload source it can send there, delivers streams of awkward lengths through
// loopback with exact byte counts and no mismatch. A strategy or workload added to its
// registry is covered here without a line of test.

#include <linux/magic.h>
#include <sys/statfs.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stack/registry.h"
#include "tests/trial_test_util.h"
#include "workloads/registry.h"

namespace zcb {
namespace {

struct Case {
  std::string workload;
  std::string strategy;
  SourceKind source;
  uint64_t bytes;
};

std::vector<Case> AllCases() {
  static const uint64_t kLengths[] = {1, 4095, 65537, (1u << 20) + 1, 64u << 20};
  std::vector<Case> cases;
  for (const WorkloadInfo& workload : AllWorkloads()) {
    for (const auto& info : AllStrategies()) {
      for (SourceKind source : info.caps.sources) {
        if (!workload.Serves(info, Protocol::kTcp, source)) continue;
        for (uint64_t bytes : kLengths) cases.push_back({workload.name, info.name, source, bytes});
      }
    }
  }
  return cases;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.workload + "_" + info.param.strategy + "_" + std::string(ToString(info.param.source)) + "_" +
         std::to_string(info.param.bytes);
}

// The bytes a trial of `c.bytes` delivers: that count, except for a workload whose
// responses are whole (file_serving's files), whose last response is whole too, and
// each response's generated HTTP head where the workload sends one (http_response).
uint64_t DeliveredBytes(const Case& c) {
  auto workload = CreateWorkload(c.workload, {});
  EXPECT_TRUE(workload.ok());
  if (!workload.ok()) return c.bytes;
  const auto x = (*workload)->exchange(SendSchedule{64 * 1024, c.bytes, std::nullopt, 0});
  if (!x || !x->responses) return c.bytes;
  uint64_t total = 0;
  for (uint64_t k = 0; k < x->TransactionLimit().value_or(0); ++k) {
    total += x->ResponseLength(k);
    if (x->http_headers) total += HttpHeaderLength(*x->http_headers, k);
  }
  return total;
}

class StrategyConformanceTest : public ::testing::TestWithParam<Case> {};

TEST_P(StrategyConformanceTest, DeliversAVerifiedStream) {
  const Case& c = GetParam();
  auto info = FindStrategy(c.strategy);
  ASSERT_TRUE(info.ok());
  TrialSpec spec = testing::VerifiedStream(c.strategy, c.bytes);
  spec.workload = c.workload;
  spec.source = c.source;
  nlohmann::json record = testing::RunOrFail(spec);
  if (!ProbeAvailability(**info).available) {
    EXPECT_EQ(record["status"], "unsupported");
    ZCB_SKIP_OR_FAIL_UNDER_CI(c.strategy + " is not available here: " + ProbeAvailability(**info).reason);
  }
  testing::ExpectVerified(record, DeliveredBytes(c));
  EXPECT_EQ(record["params"]["source"], ToString(c.source));
  EXPECT_EQ(record["params"]["workload"], c.workload);
  EXPECT_GE(record["metrics"]["send_calls"].get<uint64_t>(), 1u);
  // Strategies that lend buffers report every completion; the rest report none.
  EXPECT_EQ(record["metrics"]["zerocopy"].is_object(), (*info)->caps.reports_zerocopy);
}

INSTANTIATE_TEST_SUITE_P(AllTcpStrategies, StrategyConformanceTest, ::testing::ValuesIn(AllCases()), CaseName);

// Every on/off option of every TCP strategy, turned away from its default (alone, and with
// batch=8 where the strategy batches), still delivers a verified stream, and the record
// holds the effective value. The option that breaks the reuse rule on purpose is left out:
// its whole point is a stream that does not verify.
struct OptionCase {
  std::string strategy;
  std::map<std::string, std::string> options;
};

std::vector<OptionCase> AllOptionCases() {
  std::vector<OptionCase> cases;
  for (const auto& info : AllStrategies()) {
    if (!info.Speaks(Protocol::kTcp)) continue;
    const bool batches =
        std::any_of(info.options.begin(), info.options.end(), [](const OptionSpec& o) { return o.name == "batch"; });
    for (const OptionSpec& option : info.options) {
      if (option.type != OptionType::kBool) continue;
      if (info.caps.supports_unsafe_reuse && option.name == "unsafe_reuse") continue;
      const std::string flipped = option.default_value == "true" ? "false" : "true";
      std::map<std::string, std::string> options = {{option.name, flipped}};
      // DEFER_TASKRUN needs SINGLE_ISSUER: the pair is refused (DeferTaskrunNeedsSingleIssuer).
      if (option.name == "single_issuer" && flipped == "false") options["defer_taskrun"] = "false";
      cases.push_back({info.name, options});
      if (batches) {
        options["batch"] = "8";
        cases.push_back({info.name, options});
      }
    }
  }
  return cases;
}

std::string OptionCaseName(const ::testing::TestParamInfo<OptionCase>& info) {
  std::string name = info.param.strategy;
  for (const auto& [k, v] : info.param.options) name += "_" + k + "_" + v;
  return name;
}

class StrategyOptionConformanceTest : public ::testing::TestWithParam<OptionCase> {};

TEST_P(StrategyOptionConformanceTest, DeliversAVerifiedStreamWithTheOption) {
  const OptionCase& c = GetParam();
  auto info = FindStrategy(c.strategy);
  ASSERT_TRUE(info.ok());
  const uint64_t bytes = (1u << 20) + 1;
  TrialSpec spec = testing::VerifiedStream(c.strategy, bytes);
  spec.options = c.options;
  nlohmann::json record = testing::RunOrFail(spec);
  if (!ProbeAvailability(**info).available) {
    EXPECT_EQ(record["status"], "unsupported");
    ZCB_SKIP_OR_FAIL_UNDER_CI(c.strategy + " is not available here: " + ProbeAvailability(**info).reason);
  }
  testing::ExpectVerified(record, bytes);
  for (const auto& [k, v] : c.options) EXPECT_EQ(record["params"]["option_values"][k], v) << k;
  // Options left at their default are on record too.
  EXPECT_EQ(record["params"]["option_values"].size(), (*info)->options.size());
}

INSTANTIATE_TEST_SUITE_P(AllTcpStrategies, StrategyOptionConformanceTest, ::testing::ValuesIn(AllOptionCases()),
                         OptionCaseName);

TEST(StrategyOptionsTest, DeferTaskrunNeedsSingleIssuer) {
  for (const char* strategy : {"io_uring_send", "io_uring_send_zc"}) {
    TrialSpec spec = testing::VerifiedStream(strategy, 4096);
    spec.options = {{"defer_taskrun", "true"}, {"single_issuer", "false"}};
    auto resolved = ResolveTrial(spec);
    ASSERT_FALSE(resolved.ok()) << strategy;
    EXPECT_NE(resolved.error().ToString().find("defer_taskrun=true needs single_issuer=true"), std::string::npos)
        << resolved.error().ToString();
  }
}

// The file source with a cold page cache: the file lives on disk and its pages are
// dropped before the trial, so the first read of each page goes to the device.
std::string DiskTempDir() {
  for (const char* dir : {"/var/tmp", "/tmp"}) {
    struct statfs fs {};
    if (::statfs(dir, &fs) == 0 && fs.f_type != TMPFS_MAGIC) return dir;
  }
  return "";
}

class ColdFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ColdFileTest, DeliversAVerifiedStreamFromAColdFile) {
  const std::string dir = DiskTempDir();
  if (dir.empty()) ZCB_SKIP_OR_FAIL_UNDER_CI("no disk-backed temporary directory here");
  auto info = FindStrategy(GetParam());
  ASSERT_TRUE(info.ok());
  ZCB_SKIP_IF_UNAVAILABLE(GetParam());
  TrialSpec spec = testing::VerifiedStream(GetParam(), (8u << 20) + 3);
  spec.source = SourceKind::kFile;
  spec.file_dir = dir;
  spec.cold_cache = true;
  nlohmann::json record = testing::RunOrFail(spec);
  testing::ExpectVerified(record, (8u << 20) + 3);
  EXPECT_EQ(record["params"]["page_cache"], "cold");
}

std::vector<std::string> FileStrategies() {
  std::vector<std::string> names;
  for (const auto& info : AllStrategies()) {
    if (info.Speaks(Protocol::kTcp) && info.CanSend(SourceKind::kFile)) names.push_back(info.name);
  }
  return names;
}

INSTANTIATE_TEST_SUITE_P(FileStrategies, ColdFileTest, ::testing::ValuesIn(FileStrategies()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(ColdFileTest, ColdCacheOnTmpfsIsAClearError) {
  TrialSpec spec = testing::VerifiedStream("sendfile", 4096);
  spec.source = SourceKind::kFile;
  spec.cold_cache = true;  // no file_dir: tmpfs, whose pages cannot be dropped
  auto resolved = ResolveTrial(spec);
  ASSERT_FALSE(resolved.ok());
  EXPECT_NE(resolved.error().what().find("--file-dir"), std::string::npos) << resolved.error().what();
}

}  // namespace
}  // namespace zcb
