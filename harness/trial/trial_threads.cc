#include "harness/trial/trial_threads.h"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include <fmt/format.h>

namespace zcb {

Status PinThread(std::optional<int> cpu, const char* who) {
  if (!cpu) return OkStatus();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(*cpu, &set);
  int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set);
  if (rc != 0) {
    return Error(rc, fmt::format("pin the {} to CPU {} (this machine has CPUs 0-{}; pick another with --{}-cpu)", who,
                                 *cpu, std::thread::hardware_concurrency() - 1, who));
  }
  return OkStatus();
}

int CurrentTid() { return static_cast<int>(::syscall(SYS_gettid)); }

}  // namespace zcb
