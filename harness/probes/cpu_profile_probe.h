#pragma once

// Where the CPU goes: a sampling profile of the trial's CPUs over the window, sorted into
// categories of work in the manner of Cai et al., "Understanding host network stack
// overheads" (SIGCOMM 2021).
//
// One cpu-clock perf event per sampled CPU (a software hrtimer: no hardware PMU needed)
// fires at a fixed period; a BPF program (cpu_profile.bpf.c) counts each sample under
// its kernel stack, or as user mode. The events are enabled for the window only. After
// the window the stacks are named from /proc/kallsyms and categorised with the table in
// cpu_categories.tsv (cpu_categories.h); nothing is categorised in the sampling path.
//
// Writes metrics.cpu_profile, or null with cpu_profile_reason when it cannot sample.
// What it can miss: a sample is a statistical estimate (each share has its standard
// error in the record); code that runs with interrupts disabled cannot be interrupted by
// the hrtimer, so its time lands on the instruction that re-enables them (often a
// spin-unlock or local_bh_enable); inlined functions count for the function they were
// inlined into.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/probes/kernel_symbols.h"
#include "harness/probes/tracepoint_group.h"
#include "harness/probes/window_probe.h"

struct cpu_profile_bpf;

namespace zcb {

struct CpuProfileOptions {
  // CPUs to sample (repeats are sampled once); empty samples every online CPU.
  std::vector<int> cpus;
  // Samples per second per CPU. Prime, so that the samples do not fall in step with
  // the scheduler tick (HZ 100, 250, 300, 1000) and always see the same phase of it;
  // low enough that sampling costs well under 1% of a CPU (harness/probes/README.md).
  int frequency_hz = 499;
  // The process whose samples are also counted apart (the trial's).
  uint32_t target_tgid = 0;
};

class CpuProfileProbe : public WindowProbe {
 public:
  // Never fails: when the probe cannot sample (no privilege, no perf events, no BPF),
  // Report writes null with the reason.
  static std::unique_ptr<CpuProfileProbe> Open(const CpuProfileOptions& options);
  ~CpuProfileProbe() override;

  Status Begin() override;
  Status End() override;
  void Report(const WindowSummary& summary, nlohmann::json& metrics) override;

  // Why the probe cannot sample here; empty when it can.
  const std::string& unavailable_reason() const { return unavailable_reason_; }

 private:
  // One kernel stack (or user mode) and its samples on each sampled CPU in the window.
  struct StackCount {
    uint32_t flags = 0;               // ZCB_PROFILE_* (cpu_profile.h)
    std::vector<uint64_t> addresses;  // leaf first; empty for user mode
    std::map<int, uint64_t> per_cpu;  // CPU -> samples
  };
  struct Totals {
    uint64_t samples = 0, stack_lost = 0, count_lost = 0;
  };

  explicit CpuProfileProbe(CpuProfileOptions options);
  Status OpenEvents();
  // Reads the window's samples, then empties the maps for the next window.
  Status Drain();

  CpuProfileOptions options_;
  std::string unavailable_reason_;
  std::shared_ptr<cpu_profile_bpf> skel_;
  // One cpu-clock event on one CPU, the program attached to it; the link closes the fd.
  struct Event {
    int cpu = -1;
    int fd = -1;
    UniqueBpfLink link;
  };
  std::vector<Event> events_;
  std::optional<KernelSymbolTable> symbols_;  // loaded at the first report
  std::string symbols_error_;

  // The last window.
  std::string window_error_;
  std::vector<StackCount> stacks_;
  std::map<int, Totals> totals_;  // CPU -> totals
};

}  // namespace zcb
