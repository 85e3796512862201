#pragma once

// Hardware counters over the window with perf_event_open: cycles, instructions, cache
// misses and dTLB load misses, counted on every online CPU (system-wide, kernel
// included), each read with its time enabled and time running so that multiplexing
// shows (a counter that ran part of the window is scaled, and says so).
//
// Writes metrics.counters: one entry per counter by name, or null with
// `<name>_reason` where the machine has no such counter (a VM without a virtual PMU).

#include <linux/perf_event.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/probes/window_probe.h"
#include "stack/unique_fd.h"

namespace zcb {

// perf_event_open(2) (glibc has no wrapper).
int PerfEventOpen(perf_event_attr* attr, int pid, int cpu, int group_fd, unsigned long flags);

// A sentence for a failed perf_event_open: what the errno means here and what to do.
std::string PerfOpenFailure(const std::string& what, int errno_value);

// Online CPUs, from /sys/devices/system/cpu/online ("0-3,6").
std::vector<int> OnlineCpus();
// Parses a CPU list such as "0-3,6".
std::vector<int> ParseSysfsCpuList(const std::string& list);

// One perf reading with its times (read_format TOTAL_TIME_ENABLED | TOTAL_TIME_RUNNING).
struct PerfReading {
  uint64_t value = 0;
  uint64_t time_enabled_ns = 0;
  uint64_t time_running_ns = 0;
};
Result<PerfReading> ReadPerf(int fd);

class HardwareCounterProbe : public WindowProbe {
 public:
  struct Counter {
    std::string name;   // "cycles"
    uint32_t type = 0;  // PERF_TYPE_HARDWARE / PERF_TYPE_HW_CACHE
    uint64_t config = 0;
    std::vector<int> cpus;
    std::vector<UniqueFd> fds;  // one per CPU, opened disabled
    std::string reason;         // why it cannot count; empty when it can
    std::vector<PerfReading> begin, end;
  };

  // Opens the counters (disabled) on every online CPU. Never fails: counters the
  // machine lacks report null with the reason.
  static std::unique_ptr<HardwareCounterProbe> Open();

  Status Begin() override;
  Status End() override;
  void Report(const WindowSummary& summary, nlohmann::json& metrics) override;

  const std::vector<Counter>& counters() const { return counters_; }

 private:
  std::vector<Counter> counters_;
};

}  // namespace zcb
