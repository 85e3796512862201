#pragma once

// The eBPF window probe: the tracepoint groups (tracepoint_groups.h) loaded once,
// attached for the probe's lifetime, their per-CPU maps read at both edges of each
// measured window; and the programs' own cost, from the kernel's BPF run-time
// statistics enabled (BPF_ENABLE_STATS) for the window only.
//
// Writes metrics.probes. A group or tracepoint that cannot be used writes null with a
// `<name>_reason`; the others still count. When eBPF cannot be used at all (no
// privilege, no BPF), metrics.probes is null with probes_reason.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/probes/tracepoint_catalog.h"
#include "harness/probes/tracepoint_groups.h"
#include "harness/probes/trial_thread_map.h"
#include "harness/probes/window_probe.h"
#include "stack/unique_fd.h"

namespace zcb {

struct EbpfProbeOptions {
  // Tracepoints ("group:name") treated as absent (tests; isolating one probe's cost).
  std::set<std::string> simulate_missing;
  // Enable the kernel's BPF run-time statistics during windows (the programs' cost).
  // Off unless asked for: timing each program run adds two clock reads to it.
  bool run_time_stats = false;
  // The groups to load (EbpfGroupNames()); nullopt loads every group. A group left out
  // writes its keys null with "not requested".
  std::optional<std::set<std::string>> groups;
};

// The names of the eBPF groups (tracepoint_groups.h), in record order.
std::vector<std::string> EbpfGroupNames();

class EbpfProbe : public WindowProbe {
 public:
  // Never fails: whatever cannot be loaded is reported with its reason.
  static std::unique_ptr<EbpfProbe> Open(const EbpfProbeOptions& options);

  void WatchTrialThreads(const std::vector<int>& tids) override;
  Status Begin() override;
  Status End() override;
  void Report(const WindowSummary& summary, nlohmann::json& metrics) override;

  // What the trial process's data movement was over the last window (memory model).
  DataMovementWindow data_movement() const;
  const std::vector<std::unique_ptr<TracepointGroup>>& groups() const { return groups_; }
  // Groups that failed to load or were not requested, with the reason.
  const std::map<std::string, std::string>& group_errors() const { return group_errors_; }
  // Non-empty when no group could be loaded: why eBPF is unusable here.
  const std::string& unavailable_reason() const { return unavailable_reason_; }
  const TracepointCatalog& catalog() const { return catalog_; }

 private:
  struct RunStats {
    uint64_t run_time_ns = 0;
    uint64_t run_cnt = 0;
  };
  explicit EbpfProbe(TracepointCatalog catalog) : catalog_(std::move(catalog)) {}
  std::map<std::string, RunStats> ReadRunStats(std::string* error) const;

  TracepointCatalog catalog_;
  std::optional<TrialThreadMap> trial_threads_;  // shared by the skeletons; nullopt: see reason
  std::string trial_threads_reason_;
  std::vector<int> trial_tids_, trial_cpus_;
  std::vector<std::unique_ptr<TracepointGroup>> groups_;
  std::map<std::string, std::string> group_errors_;
  std::string unavailable_reason_;
  bool run_time_stats_ = true;
  UniqueFd stats_fd_;  // held while a window is open: BPF run-time stats enabled
  std::string stats_error_;
  std::map<std::string, RunStats> stats_begin_, stats_end_;
};

// Every tracepoint the eBPF probe attaches to, in record order ("group:name").
std::vector<std::string> AllProbeTracepoints();

}  // namespace zcb
