// Hardware counters (numbers with their times, or null with the reason where the
// machine has no PMU), the co-running memory-bandwidth probe, and the memory probe's
// choice of source. (The doctor's checks: tests/harness/doctor/checklist_test.cc.)

#include <unistd.h>

#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "harness/probes/bandwidth_corunner.h"
#include "harness/probes/memory_traffic.h"
#include "harness/probes/perf_counters.h"
#include "tests/trial_test_util.h"

namespace zcb {
namespace {

TEST(ProbesCounters, EachCounterIsANumberWithItsTimesOrNullWithAReason) {
  auto probe = HardwareCounterProbe::Open();
  ASSERT_TRUE(probe->Begin().ok());
  volatile double x = 1;
  for (int i = 0; i < 1000000; ++i) x = x * 1.0000001;
  ASSERT_TRUE(probe->End().ok());
  nlohmann::json metrics;
  WindowSummary summary;
  summary.bytes_received = 1 << 20;
  probe->Report(summary, metrics);
  const auto& counters = metrics["counters"];
  for (const char* name : {"cycles", "instructions", "cache_misses", "dtlb_load_misses"}) {
    ASSERT_TRUE(counters.contains(name)) << name;
    if (counters[name].is_null()) {
      ASSERT_TRUE(counters[std::string(name) + "_reason"].is_string()) << name;
      EXPECT_FALSE(counters[std::string(name) + "_reason"].get<std::string>().empty());
    } else {
      EXPECT_GT(counters[name]["time_enabled_ns"].get<uint64_t>(), 0u) << name;
      EXPECT_LE(counters[name]["time_running_ns"].get<uint64_t>(), counters[name]["time_enabled_ns"].get<uint64_t>());
      EXPECT_EQ(counters[name]["per_cpu"].size(), OnlineCpus().size());
    }
  }
  // A machine where none counts says why once, for the whole object.
  bool none = true;
  for (const char* name : {"cycles", "instructions", "cache_misses", "dtlb_load_misses"})
    none &= counters[name].is_null();
  if (none) {
    EXPECT_TRUE(counters["reason"].is_string());
  }
}

TEST(ProbesCounters, CpuListsParse) {
  EXPECT_EQ(ParseSysfsCpuList("0-3,6"), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(ParseSysfsCpuList("1"), (std::vector<int>{1}));
  EXPECT_FALSE(OnlineCpus().empty());
}

TEST(ProbesCounters, BandwidthCoRunnerMeasuresBaselineAndWindow) {
  auto runner = BandwidthCoRunner::Start(OnlineCpus().back(), 0.1);
  ASSERT_TRUE(runner.ok()) << runner.error().ToString();
  EXPECT_GT((*runner)->baseline_bytes_per_s(), 0);
  (*runner)->Begin();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*runner)->End();
  EXPECT_GT((*runner)->window_bytes_per_s(), 0);
  const nlohmann::json report = (*runner)->Report();
  EXPECT_TRUE(report["ratio"].is_number());
  // Alone on its CPU in the window as in the baseline, the co-runner copies at about the
  // baseline rate: bytes counted twice, or a window measured too short, would show as
  // several times it (the bound leaves room for a baseline taken on a busy machine).
  EXPECT_LT((*runner)->window_bytes_per_s(), 4 * (*runner)->baseline_bytes_per_s());
  // Windows back to back work too (the thread parks in between and resumes copying).
  (*runner)->Begin();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*runner)->End();
  EXPECT_GT((*runner)->window_bytes_per_s(), 0);
  EXPECT_LT((*runner)->window_bytes_per_s(), 4 * (*runner)->baseline_bytes_per_s());
}

TEST(ProbesCounters, BandwidthProbeWithoutASpareCpuSaysSo) {
  MemoryTrafficOptions options;
  options.corunner = true;
  options.trial_cpus = OnlineCpus();  // the trial takes every CPU
  auto probe = MemoryTrafficProbe::Open(options);
  EXPECT_EQ(probe->corunner(), nullptr);
  ASSERT_TRUE(probe->Begin().ok());
  ASSERT_TRUE(probe->End().ok());
  nlohmann::json metrics;
  probe->Report(WindowSummary{}, metrics);
  EXPECT_TRUE(metrics["memory"]["bandwidth_probe"].is_null());
  EXPECT_NE(metrics["memory"]["bandwidth_probe_reason"].get<std::string>().find("spare CPU"), std::string::npos);
  // A hardware source, if this machine has one, is what the record names; without it and
  // without the eBPF probes there is no model either, and the record says why.
  if (probe->source() == "model") {
    EXPECT_EQ(metrics["memory"]["source"], "unavailable") << metrics["memory"].dump();
    EXPECT_NE(metrics["memory"]["reason"].get<std::string>().find("the model needs"), std::string::npos)
        << metrics["memory"].dump();
    EXPECT_TRUE(metrics["memory"]["bandwidth_bps"].is_null());
  } else {
    EXPECT_EQ(metrics["memory"]["source"], probe->source()) << metrics["memory"].dump();
  }
}

TEST(ProbesCounters, MemorySourceFallsBackToTheModelWithoutHardware) {
  MemoryTrafficOptions options;
  options.pmu_devices_root = "/nonexistent-zcb-pmus";
  options.mounts = "/nonexistent-zcb-mounts";
  auto probe = MemoryTrafficProbe::Open(options);
  EXPECT_EQ(probe->source(), "model");
  ASSERT_TRUE(probe->Begin().ok());
  ASSERT_TRUE(probe->End().ok());
  nlohmann::json metrics;
  probe->Report(WindowSummary{}, metrics);
  const auto& memory = metrics["memory"];
  // No eBPF probe given: no model, so nothing to report, with the reasons of each source.
  EXPECT_EQ(memory["source"], "unavailable");
  EXPECT_TRUE(memory["sources_not_used"].contains("memory_controller"));
  EXPECT_TRUE(memory["sources_not_used"].contains("resctrl_mbm"));
}

}  // namespace
}  // namespace zcb
