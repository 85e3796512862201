// Where a microbenchmark's thread runs, and a sibling thread of the same process that
// keeps the process's address space live on another CPU.
//
// Why a sibling matters: munmap() must flush the unmapped range from the TLB of every CPU
// that may cache translations of this mm. A thread of the process that is running on
// another CPU makes that a remote shootdown (an IPI, and munmap waits for the answer). The
// sibling spins rather than sleeps: a sleeping sibling leaves its CPU idle, in lazy-TLB
// mode, and the kernel then skips the IPI and flushes when the CPU next switches to the
// mm, so a sleeping sibling would not reliably cost anything.

#pragma once

#include <sched.h>

#include <atomic>
#include <thread>

#include "stack/result.h"

namespace zcb::micro {

// Two distinct CPUs the process may run on: the benchmark thread's and its sibling's.
struct CpuPair {
  int benchmark_cpu = -1;
  int sibling_cpu = -1;
};

// The first two CPUs of the process's affinity mask; an unsupported error when it has
// only one (the sibling variant cannot be measured there).
Result<CpuPair> ChooseCpuPair();

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

// A thread of this process that spins on `cpu` from Start() until Stop() (or destruction).
// Start() returns once the thread is running on that CPU.
class SpinningSibling {
 public:
  SpinningSibling() = default;
  SpinningSibling(const SpinningSibling&) = delete;
  SpinningSibling& operator=(const SpinningSibling&) = delete;
  ~SpinningSibling() { Stop(); }

  Status Start(int cpu);
  void Stop();

 private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> state_{0};  // 0 starting, 1 spinning on its CPU, -1 could not pin
  int pin_errno_ = 0;
};

}  // namespace zcb::micro
