// Sibling threads: threads of this process that run on other CPUs while one thread works,
// and pinning a thread to a CPU for a while. The microbenchmarks (workloads/micro/) and the
// trials' `siblings` axis (harness/trial/sibling_threads.h) both use them.
//
// Why a sibling matters: munmap() (and the page pinning of zero-copy sends) must flush the
// unmapped range from the TLB of every CPU that may cache translations of this mm. A thread
// of the process that is running on another CPU makes that a remote shootdown (an IPI, and
// the caller waits for the answer). A spinning sibling keeps the mm live on its CPU for as
// long as it runs. A sleeping sibling ran there once and then blocks: its CPU goes idle in
// lazy-TLB mode, and the kernel skips lazy CPUs when it shoots down a range (it flushes
// when the CPU next switches to the mm), so a sleeping sibling costs the sender little or
// nothing: the contrast between the two modes shows that it is the running mm that costs.

#pragma once

#include <sched.h>

#include <atomic>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "stack/result.h"

namespace zcb {

enum class SiblingMode {
  kSpin,   // busy-waits on its CPU (with a pause instruction): the mm stays live there
  kSleep,  // runs once on its CPU, then blocks until stopped: its CPU goes lazy-TLB idle
};
std::string_view ToString(SiblingMode mode);
std::optional<SiblingMode> ParseSiblingMode(std::string_view text);

// The CPUs the calling thread may run on (its affinity mask), in increasing order.
Result<std::vector<int>> AllowedCpus();

// Pins the calling thread to one CPU (Pin) and restores the thread's previous affinity
// mask when it ends; it must end on the thread that pinned.
class ScopedCpuPin {
 public:
  ScopedCpuPin() = default;
  ScopedCpuPin(const ScopedCpuPin&) = delete;
  ScopedCpuPin& operator=(const ScopedCpuPin&) = delete;
  ~ScopedCpuPin();

  Status Pin(int cpu);

 private:
  cpu_set_t previous_{};
  bool pinned_ = false;
};

// A thread of this process pinned to `cpu` from Start() until Stop() (or destruction),
// spinning or sleeping. Start() returns once the thread runs on that CPU.
class SiblingThread {
 public:
  SiblingThread() = default;
  SiblingThread(const SiblingThread&) = delete;
  SiblingThread& operator=(const SiblingThread&) = delete;
  ~SiblingThread() { Stop(); }

  Status Start(int cpu, SiblingMode mode);
  void Stop();

  // The thread's kernel id (0 before Start) and its CPU time so far (nanoseconds; after
  // Stop, its total), from its thread CPU clock.
  int tid() const { return tid_.load(std::memory_order_acquire); }
  uint64_t cpu_time_ns() const;

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> state_{0};  // 0 starting, 1 running on its CPU, -1 could not pin
  std::atomic<int> tid_{0};
  clockid_t clock_{};
  uint64_t final_cpu_ns_ = 0;
  bool stopped_ = true;
  int pin_errno_ = 0;
};

}  // namespace zcb
