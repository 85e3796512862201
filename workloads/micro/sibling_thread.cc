#include "workloads/micro/sibling_thread.h"

#include <pthread.h>

#include <cerrno>

namespace zcb::micro {
namespace {

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

Result<CpuPair> ChooseCpuPair() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return SysError("sched_getaffinity");
  CpuPair pair;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (pair.benchmark_cpu < 0) {
      pair.benchmark_cpu = cpu;
    } else {
      pair.sibling_cpu = cpu;
      return pair;
    }
  }
  return Unsupportedf("a sibling on another CPU needs 2 CPUs and this process may run on {} only",
                      pair.benchmark_cpu < 0 ? 0 : 1);
}

ScopedCpuPin::~ScopedCpuPin() {
  if (pinned_) ::pthread_setaffinity_np(::pthread_self(), sizeof(previous_), &previous_);
}

Status ScopedCpuPin::Pin(int cpu) {
  if (!pinned_) {
    if (int rc = ::pthread_getaffinity_np(::pthread_self(), sizeof(previous_), &previous_); rc != 0) {
      return Error(rc, "pthread_getaffinity_np");
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof(one), &one); rc != 0) {
    return Error(rc, fmt::format("pinning the benchmark thread to CPU {}", cpu));
  }
  pinned_ = true;
  return OkStatus();
}

Status SpinningSibling::Start(int cpu) {
  stop_.store(false);
  state_.store(0);
  thread_ = std::thread([this, cpu] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof(one), &one); rc != 0) {
      pin_errno_ = rc;
      state_.store(-1, std::memory_order_release);
      return;
    }
    state_.store(1, std::memory_order_release);
    while (!stop_.load(std::memory_order_relaxed)) CpuRelax();
  });
  int state = 0;
  while ((state = state_.load(std::memory_order_acquire)) == 0) CpuRelax();
  if (state < 0) {
    thread_.join();
    return Error(pin_errno_, fmt::format("pinning the sibling thread to CPU {}", cpu));
  }
  return OkStatus();
}

void SpinningSibling::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
}

}  // namespace zcb::micro
