#pragma once

// The probes a run attaches to its trials, opened once and reused for every trial:
//   ebpf      tracepoint counts (metrics.probes), ebpf_probe.h
//   counters  hardware counters (metrics.counters), perf_counters.h
//   memory    memory traffic (metrics.memory), memory_traffic.h
//   profile   where the CPU goes, by category (metrics.cpu_profile), cpu_profile_probe.h
// Families left out write null with the reason ("not requested"), so that a record
// always says what was measured.

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "harness/probes/cpu_profile_probe.h"
#include "harness/probes/ebpf_probe.h"
#include "harness/probes/memory_traffic.h"
#include "harness/probes/perf_counters.h"
#include "harness/probes/window_probe.h"
#include "stack/result.h"

namespace zcb {

struct ProbeOptions {
  bool ebpf = true;
  bool counters = true;
  bool memory = true;
  bool cpu_profile = true;
  // The CPU profile's samples per second per CPU (CpuProfileOptions::frequency_hz).
  int cpu_profile_hz = CpuProfileOptions{}.frequency_hz;
  // The co-running memory-bandwidth probe, on `membw_cpu` or a CPU outside `trial_cpus`.
  bool membw_probe = false;
  std::optional<int> membw_cpu;
  std::vector<int> trial_cpus;
  // Tracepoints ("group:name") to treat as missing.
  std::set<std::string> simulate_missing_tracepoints;
  // The kernel's BPF run-time statistics during windows (the probes' own cost).
  bool bpf_run_time_stats = true;
};

// "all", "none", or a comma list of ebpf, counters, memory, profile. Usage errors name
// the valid choices.
Result<ProbeOptions> ParseProbeSelection(std::string_view selection);

class ProbeSuite {
 public:
  // Opens the requested probes. Missing kernel features and privileges are not errors
  // (the records say what is missing); a bad option (a CPU that does not exist) is.
  static Result<ProbeSuite> Open(const ProbeOptions& options);
  ProbeSuite(ProbeSuite&&) noexcept = default;
  ProbeSuite& operator=(ProbeSuite&&) noexcept = default;
  ~ProbeSuite();

  // In the order the trial runner begins them (and reports them: memory after ebpf).
  std::vector<WindowProbe*> probes() const;

  EbpfProbe* ebpf() const { return ebpf_.get(); }
  HardwareCounterProbe* counters() const { return counters_.get(); }
  MemoryTrafficProbe* memory() const { return memory_.get(); }
  CpuProfileProbe* cpu_profile() const { return cpu_profile_.get(); }

 private:
  ProbeSuite() = default;
  std::unique_ptr<EbpfProbe> ebpf_;
  std::unique_ptr<HardwareCounterProbe> counters_;
  std::unique_ptr<MemoryTrafficProbe> memory_;   // refers to ebpf_: declared after it
  std::unique_ptr<CpuProfileProbe> cpu_profile_;
  std::unique_ptr<WindowProbe> not_requested_;
};

}  // namespace zcb
