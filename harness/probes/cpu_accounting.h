#pragma once

// CPU accounting over a measured window.
//
// The trial's CPU cost (the record's cpu.ns_per_kib) comes from nanosecond sources: the
// CPU time of the trial's own threads (sender, receiver, and the process's io_uring
// workers), read from the kernel's per-thread CPU clocks (the scheduler's
// sum_exec_runtime, not ticks), plus the network softirq work run on the trial's CPUs by
// other tasks (ksoftirqd, the idle task, another process), from the softirq_time probe.
// Softirq work run on a trial thread's own stack is already in that thread's CPU time
// (this kernel has no IRQ-time accounting) and is not added twice.
//
// Beside it: the system-wide figure from per-CPU /proc/stat deltas (netperf's method,
// tick-sampled), and the CPU of zcbench's other threads (the controlling thread, the
// memory-bandwidth antagonist, the bandwidth co-runner), which is never charged to the
// trial.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
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

// The shortest window, in ticks per CPU, over which the system-wide ns_per_kib is
// reported: at 10 the rounding of the two snapshots is at most about 20% of the busy time.
inline constexpr int kMinWindowTicks = 10;

// The calling thread's CPU time in seconds (CLOCK_THREAD_CPUTIME_ID).
double ThreadCpuSeconds();

// The CPU time of thread `tid` of this process, in ns, from the per-thread CPU clock the
// kernel derives from a TID; nullopt when the thread has exited.
std::optional<uint64_t> ThreadCpuNs(int tid);

// This process's CPU time in ns (CLOCK_PROCESS_CPUTIME_ID: every thread, exited ones too).
uint64_t ProcessCpuNs();

// The process's io_uring workers (threads with PF_IO_WORKER: io-wq workers and SQPOLL
// threads, which the kernel creates for a ring) and their CPU time in ns.
std::map<int, uint64_t> IoUringWorkerCpuNs();

// One side's CPU time over its run.
struct SideCpu {
  double thread_s = 0;      // the side's own thread
  double io_workers_s = 0;  // the process's io_uring workers (for the side that owns the rings)
  int io_workers = 0;       // workers seen at either edge of the run
  int io_workers_gone = 0;  // seen at the start and gone at the end: their CPU after the start is lost
};

// Started on a trial thread when its run begins, stopped when it ends (before the side's
// io_uring rings are closed, so that their workers still exist). With `io_workers`, the
// process's io_uring workers are read at both edges: one exited inside the run is missed.
class SideCpuMeter {
 public:
  explicit SideCpuMeter(bool io_workers);
  SideCpu Stop() const;

 private:
  bool io_workers_;
  double thread_start_s_;
  std::map<int, uint64_t> workers_start_;
};

// The trial's threads as one flow measured them.
struct TrialCpuParts {
  std::optional<double> sender_thread_s;    // nullopt: the sender is not on this host
  std::optional<double> receiver_thread_s;  // nullopt: the receiver's CPU is unknown
  bool receiver_on_this_host = true;        // false: receiver_thread_s came from the peer
  SideCpu sender;                           // its io_uring workers
  // What the trial's figure cannot include here, said in the record (ns_per_kib_omits).
  std::vector<std::string> omits;
};

// The record's `cpu` object, but for the parts FinishTrialCpu adds: the trial's threads,
// `other_threads_s` (the process's CPU over the window less the trial's threads: zcbench's
// own threads), and `system_wide` (/proc/stat deltas, netperf's method, with its own
// tick-limited ns_per_kib; null with a reason when /proc/stat could not be read).
nlohmann::json CpuRecord(const std::optional<CpuSnapshot>& before, const std::optional<CpuSnapshot>& after,
                         const TrialCpuParts& parts, std::optional<double> process_s, uint64_t bytes_delivered);

// Completes metrics.cpu once the probes have reported: adds the network softirq work done
// outside the trial's threads (metrics.probes.softirq_net_outside_trial_ns, or null with
// the reason), the trial's total (trial_s) and the headline ns_per_kib: trial CPU ns per
// KiB delivered (null, with ns_per_kib_reason, when nothing was delivered), with
// ns_per_kib_omits listing what it could not include.
void FinishTrialCpu(nlohmann::json& metrics, uint64_t bytes_delivered);

}  // namespace zcb
