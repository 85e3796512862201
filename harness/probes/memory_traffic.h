#pragma once

// Memory traffic over the window, with its source named in the record (metrics.memory):
//   1. memory-controller counters (uncore_pmu.h): source "uncore_imc", "amd_umc", ...
//   2. resctrl MBM (resctrl_mbm.h): source "resctrl_mbm" (total bytes only)
//   3. the model (memory_model.h) from the eBPF probes' copy counts: source "model"
//   otherwise source "unavailable", with the reasons.
// The model is computed whenever it can be, also next to a hardware source, so that
// the two can be compared. With --membw-probe a co-running bandwidth probe
// (bandwidth_corunner.h) adds metrics.memory.bandwidth_probe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/probes/bandwidth_corunner.h"
#include "harness/probes/ebpf_probe.h"
#include "harness/probes/resctrl_mbm.h"
#include "harness/probes/uncore_pmu.h"
#include "harness/probes/window_probe.h"

namespace zcb {

struct MemoryTrafficOptions {
  // Supplies the copy counts the model needs; may be null (no model then).
  const EbpfProbe* ebpf = nullptr;
  // Run the co-running bandwidth probe, on `corunner_cpu` or else on an online CPU not
  // in `trial_cpus`.
  bool corunner = false;
  std::optional<int> corunner_cpu;
  std::vector<int> trial_cpus;
  std::string pmu_devices_root = "/sys/bus/event_source/devices";
  std::string mounts = "/proc/self/mounts";
};

class MemoryTrafficProbe : public WindowProbe {
 public:
  // Never fails: sources that cannot be used are reported with the reason.
  static std::unique_ptr<MemoryTrafficProbe> Open(const MemoryTrafficOptions& options);

  Status Begin() override;
  Status End() override;
  void Report(const WindowSummary& summary, nlohmann::json& metrics) override;

  // "uncore_imc", "resctrl_mbm", "model", ...: the source the record's totals come from.
  const std::string& source() const { return source_; }
  const BandwidthCoRunner* corunner() const { return corunner_.get(); }

 private:
  MemoryTrafficOptions options_;
  std::string source_;
  nlohmann::json considered_ = nlohmann::json::object();  // each source and why it was not used
  std::optional<MemoryPmuCounters> pmu_;
  std::optional<ResctrlMbm> mbm_;
  uint64_t mbm_begin_ = 0;
  std::optional<uint64_t> mbm_window_;
  std::string window_error_;
  std::unique_ptr<BandwidthCoRunner> corunner_;
  std::string corunner_reason_;
};

}  // namespace zcb
