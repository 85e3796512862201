#pragma once

// Memory-controller counters: the uncore PMUs that count DRAM reads and writes,
// discovered in /sys/bus/event_source/devices (never assumed from the CPU model):
//   uncore_imc_free_running_*  Intel client parts: data_read / data_write
//   uncore_imc_*               Intel server parts: cas_count_read / cas_count_write
//   amd_umc_*                  AMD Zen 4 and later: CAS commands by read/write mask
// Each named event carries its scale and unit in sysfs (e.g. 6.103515625e-5 MiB = one
// 64-byte line per CAS); events are encoded with the PMU's own `format/` bit fields.
// amd_df (the data fabric) is listed but not used: its bandwidth events are
// family-specific and sysfs names none.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

struct MemoryPmuEvent {
  std::string pmu;    // "uncore_imc_0"
  std::string event;  // "cas_count_read"
  uint32_t type = 0;  // the PMU's perf type
  uint64_t config = 0;
  double bytes_per_count = 0;  // scale x unit
  int cpu = 0;                 // the CPU the PMU is read on (first of its cpumask)
  bool write = false;          // counts writes (else reads)
};

struct MemoryPmuDiscovery {
  std::string family;  // "uncore_imc_free_running", "uncore_imc", "amd_umc"; empty: none
  std::vector<MemoryPmuEvent> events;
  // Memory-related PMUs seen and why each was not used, or why none was found.
  std::vector<std::string> notes;
};

// Looks under `devices_root` (a sysfs event_source/devices directory).
MemoryPmuDiscovery DiscoverMemoryPmus(const std::string& devices_root = "/sys/bus/event_source/devices");

// Encodes "event=0x04,umask=0x03" with the PMU's format files ("config:0-7").
Result<uint64_t> EncodePmuEvent(const std::string& pmu_dir, const std::string& spec);

// Bytes in one unit of a sysfs event's .unit file ("MiB" -> 1048576; "" -> 1).
double UnitBytes(const std::string& unit);

// The discovered events opened system-wide (disabled), read at the window's edges.
class MemoryPmuCounters {
 public:
  static Result<MemoryPmuCounters> Open(const MemoryPmuDiscovery& discovery);
  Status Begin();
  Status End();
  // Bytes read and written over the last window.
  uint64_t read_bytes() const { return read_bytes_; }
  uint64_t write_bytes() const { return write_bytes_; }

 private:
  struct OpenEvent {
    MemoryPmuEvent event;
    UniqueFd fd;
    uint64_t begin = 0;
  };
  std::vector<OpenEvent> counters_;
  uint64_t read_bytes_ = 0, write_bytes_ = 0;
};

}  // namespace zcb
