#pragma once

// The probes a run attaches to its trials, opened once and reused for every trial:
//   ebpf      tracepoint counts (metrics.probes), ebpf_probe.h, by group
//             (tracepoint_groups.h); the default set leaves out the groups that cost more
//             than the probes' budget (zcbench help probes)
//   counters  hardware counters (metrics.counters), perf_counters.h
//   memory    memory traffic (metrics.memory), memory_traffic.h
//   copies    metrics.copies, from the eBPF counts (copy_accounting.h): always written
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

// The eBPF groups loaded by default: those whose cost is within the probes' budget.
std::set<std::string> DefaultEbpfGroups();

struct ProbeOptions {
  bool ebpf = true;
  bool counters = true;
  bool memory = true;
  // The eBPF groups loaded when `ebpf` is on.
  std::set<std::string> ebpf_groups = DefaultEbpfGroups();
  // Off by default: the cpu-clock sampling costs more than the probes' budget (ProbeHelp).
  bool cpu_profile = false;
  // The CPU profile's samples per second per CPU (CpuProfileOptions::frequency_hz).
  int cpu_profile_hz = CpuProfileOptions{}.frequency_hz;
  // The co-running memory-bandwidth probe, on `membw_cpu` or a CPU outside `trial_cpus`.
  bool membw_probe = false;
  std::optional<int> membw_cpu;
  std::vector<int> trial_cpus;
  // Tracepoints ("group:name") to treat as missing.
  std::set<std::string> simulate_missing_tracepoints;
  // The kernel's BPF run-time statistics during windows (the probes' own cost). Off by
  // default: timing every program run costs two clock reads per run.
  bool bpf_run_time_stats = false;
};

// "none", or a comma list of: default (every family, the default eBPF groups), all
// (every family and eBPF group), the families ebpf (its default groups), counters,
// memory and profile, eBPF group names (those groups, e.g. "net_traffic,page_faults"),
// and bpf_stats (the programs' own run time in the record, e.g. "default,bpf_stats").
// Usage errors name the valid choices.
Result<ProbeOptions> ParseProbeSelection(std::string_view selection);

// The text of `zcbench help probes`: the families, the eBPF groups, which are on by
// default, and what each costs.
std::string ProbeHelp();

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
  std::unique_ptr<MemoryTrafficProbe> memory_;  // refers to ebpf_: declared after it
  std::unique_ptr<CpuProfileProbe> cpu_profile_;
  std::unique_ptr<WindowProbe> copies_;  // refers to ebpf_ too
  std::unique_ptr<WindowProbe> not_requested_;
};

}  // namespace zcb
