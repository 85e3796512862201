#pragma once

// The file set and strategy list that the file_serving and http_response trial tests
// share: five sizes that are not multiples of each other or of a page (so that every
// strategy's partial-buffer and partial-page paths run) cycled over seven files, and the
// strategies that serve a workload, taken from the registries.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stack/registry.h"
#include "tests/trial_test_util.h"
#include "workloads/registry.h"

namespace zcb::testing {

inline const std::vector<uint64_t> kTestFileSizes = {1024, 5000, 65536, 300001, 4097};
inline constexpr uint64_t kTestFiles = 7;  // more files than sizes: the list cycles

// kTestFileSizes as the `sizes` workload option writes it.
inline std::string TestFileSizesOption() {
  std::string option;
  for (const uint64_t size : kTestFileSizes) {
    if (!option.empty()) option += ',';
    option += std::to_string(size);
  }
  return option;
}

// Bytes of request k's file (requests walk the set in order, round and round).
inline uint64_t TestFileSize(uint64_t request) {
  return kTestFileSizes[(request % kTestFiles) % kTestFileSizes.size()];
}

inline const WorkloadInfo& RegisteredWorkload(const std::string& name) {
  auto found = FindWorkload(name);
  EXPECT_TRUE(found.ok()) << name;
  return **found;
}

// The strategies that can serve `workload` over TCP from their default source.
inline std::vector<const StrategyInfo*> StrategiesServing(const WorkloadInfo& workload) {
  std::vector<const StrategyInfo*> serving;
  for (const StrategyInfo& info : AllStrategies()) {
    if (workload.Serves(info, Protocol::kTcp, info.DefaultSource())) serving.push_back(&info);
  }
  return serving;
}

// A verified trial of `workload` through `strategy` over the test file set, `bytes` in all.
inline TrialSpec FileSetTrial(const StrategyInfo& strategy, const std::string& workload, uint64_t bytes,
                              uint64_t buffer, const std::map<std::string, std::string>& extra = {}) {
  TrialSpec spec = VerifiedStream(strategy.name, bytes, buffer);
  spec.workload = workload;
  spec.workload_options = {
      {"distribution", "list"}, {"sizes", TestFileSizesOption()}, {"files", std::to_string(kTestFiles)}};
  for (const auto& [key, value] : extra) spec.workload_options[key] = value;
  spec.source = strategy.DefaultSource();
  return spec;
}

}  // namespace zcb::testing
