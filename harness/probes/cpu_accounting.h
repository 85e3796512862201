#pragma once

// System-wide CPU accounting over a measured window, from per-CPU /proc/stat deltas
// (netperf's method), plus service demand: busy CPU time per KiB delivered.

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/result.h"

namespace zcb {

struct CpuTimes {
  // Seconds, per the /proc/stat columns.
  double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  // Time spent doing work for this host (steal is the hypervisor's, iowait is idle).
  double Busy() const { return user + nice + system + irq + softirq; }
  // Every column: on one CPU, the wall time the delta spans.
  double All() const;
  CpuTimes operator-(const CpuTimes& o) const;
};

struct CpuSnapshot {
  CpuTimes total;
  std::vector<CpuTimes> per_cpu;
  static Result<CpuSnapshot> Read();
};

// The resolution of /proc/stat: one clock tick (USER_HZ), in seconds.
double CpuTickSeconds();

// The shortest window, in ticks per CPU, over which ns_per_kib is reported: at 10 the
// rounding of the two snapshots is at most about 20% of the busy time.
inline constexpr int kMinWindowTicks = 10;

// The calling thread's CPU time in seconds (CLOCK_THREAD_CPUTIME_ID).
double ThreadCpuSeconds();

// The record's `cpu` object: system-wide deltas, per-CPU deltas, the two threads' CPU
// time, the tick length (tick_s) and ns_per_kib (busy ns per KiB delivered; null, with
// ns_per_kib_reason, when nothing was delivered or the window is too short to resolve).
nlohmann::json CpuRecord(const CpuSnapshot& before, const CpuSnapshot& after, double sender_thread_s,
                         double receiver_thread_s, uint64_t bytes_delivered);

}  // namespace zcb
