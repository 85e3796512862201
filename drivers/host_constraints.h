#pragma once

// Host constraints a trial runs under, recorded with it: a CPU quota for the sender
// thread (a slow embedded CPU), a memory-bandwidth ceiling where the host can enforce one
// (resctrl MB, drivers/resctrl.h) and a memory-bandwidth antagonist (a memory-starved
// host emulated by competing for DRAM, where it cannot).

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/cpu_quota.h"
#include "drivers/membw_antagonist.h"
#include "drivers/resctrl.h"
#include "stack/result.h"

namespace zcb {

struct HostConstraintSpec {
  std::optional<double> sender_cpu_quota;  // fraction of one CPU (0.2 = 20%)
  std::vector<int> membw_cpus;             // one antagonist thread per CPU listed
  uint64_t membw_buffer_bytes = 64ull << 20;
  std::optional<int> membw_limit_percent;  // resctrl MB: the trial's threads' share of memory bandwidth

  bool empty() const { return !sender_cpu_quota && membw_cpus.empty() && !membw_limit_percent; }
  // What was asked: the record's params.constraints.
  nlohmann::json ToJson() const;
};

// Usage checks: a quota in [0.01, number of CPUs], antagonist CPUs that exist, a buffer
// of at least 2 MiB, a memory-bandwidth limit from 1% to 100%.
Status ValidateHostConstraints(const HostConstraintSpec& spec);

// "20%", "0.2" -> 0.2; "1.5" -> 1.5 (one and a half CPUs).
std::optional<double> ParseCpuQuota(std::string_view text);
// "1", "0,1", "0-3" -> CPU numbers.
std::optional<std::vector<int>> ParseCpuList(std::string_view text);

class HostConstraints {
 public:
  // Creates the cgroup, starts the antagonist (which then runs until destruction or
  // Stop(), covering the whole trial), and creates the resctrl group, moving the calling
  // thread into it (the threads it starts afterwards inherit it). A memory-bandwidth limit
  // on a host without resctrl MB is `unsupported`, naming the antagonist as the emulation.
  static Result<std::unique_ptr<HostConstraints>> Create(const HostConstraintSpec& spec);

  // Called on the sender's thread before it opens its socket.
  Status EnterSender();

  // Stops the antagonist; called when the trial's window has closed.
  void Stop();

  // What was applied and measured: the record's `constraints`.
  nlohmann::json Report() const;

 private:
  HostConstraintSpec spec_;
  std::unique_ptr<CpuQuota> quota_;
  std::unique_ptr<MemoryBandwidthAntagonist> antagonist_;
  std::unique_ptr<ResctrlGroup> membw_limit_;
};

}  // namespace zcb
