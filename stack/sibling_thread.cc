#include "stack/sibling_thread.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace zcb {
namespace {

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

uint64_t ClockNs(clockid_t clock) {
  timespec ts{};
  if (::clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

std::string_view ToString(SiblingMode mode) { return mode == SiblingMode::kSpin ? "spin" : "sleep"; }

std::optional<SiblingMode> ParseSiblingMode(std::string_view text) {
  if (text == "spin") return SiblingMode::kSpin;
  if (text == "sleep") return SiblingMode::kSleep;
  return std::nullopt;
}

Result<std::vector<int>> AllowedCpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (int rc = ::pthread_getaffinity_np(::pthread_self(), sizeof(allowed), &allowed); rc != 0) {
    return Error(rc, "pthread_getaffinity_np");
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  return cpus;
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
    return Error(rc, fmt::format("pinning this thread to CPU {}", cpu));
  }
  pinned_ = true;
  return OkStatus();
}

Status SiblingThread::Start(int cpu, SiblingMode mode) {
  Stop();
  stop_.store(false);
  state_.store(0);
  tid_.store(0);
  final_cpu_ns_ = 0;
  thread_ = std::thread([this, cpu, mode] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (int rc = ::pthread_setaffinity_np(::pthread_self(), sizeof(one), &one); rc != 0) {
      pin_errno_ = rc;
      state_.store(-1, std::memory_order_release);
      return;
    }
    // Running on `cpu` now (the affinity call migrates the caller before it returns):
    // the process's mm has been loaded there.
    ::pthread_getcpuclockid(::pthread_self(), &clock_);
    tid_.store(static_cast<int>(::syscall(SYS_gettid)), std::memory_order_release);
    state_.store(1, std::memory_order_release);
    if (mode == SiblingMode::kSpin) {
      while (!stop_.load(std::memory_order_relaxed)) CpuRelax();
    } else {
      stop_.wait(false);  // a futex wait: the thread sleeps until Stop()
    }
  });
  int state = 0;
  while ((state = state_.load(std::memory_order_acquire)) == 0) CpuRelax();
  if (state < 0) {
    thread_.join();
    return Error(pin_errno_, fmt::format("pinning a sibling thread to CPU {}", cpu));
  }
  stopped_ = false;
  return OkStatus();
}

uint64_t SiblingThread::cpu_time_ns() const { return stopped_ ? final_cpu_ns_ : ClockNs(clock_); }

void SiblingThread::Stop() {
  if (!thread_.joinable()) return;
  if (!stopped_) final_cpu_ns_ = ClockNs(clock_);  // the clock dies with the thread
  stop_.store(true, std::memory_order_relaxed);
  stop_.notify_all();
  thread_.join();
  stopped_ = true;
}

}  // namespace zcb
