#include "harness/trial_common.h"

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/chrono.h>
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

Status SetTimeout(int fd, int option, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  if (::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) != 0) return SysError("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)");
  return OkStatus();
}

// Resets the connection (RST) so that a peer blocked in send() or recv() wakes up.
void Abort(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd, SHUT_RDWR);
}

std::string NowIso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(now)), ms);
}

int CurrentTid() { return static_cast<int>(::syscall(SYS_gettid)); }

nlohmann::json ReuseGateJson(const std::optional<PeerGateStats>& gate) {
  if (!gate) return nullptr;
  return {{"signal", gate->signal},
          {"checks", gate->checks},
          {"waits", gate->waits},
          {"wait_s", static_cast<double>(gate->wait_ns) / 1e9}};
}

nlohmann::json ZeroCopyJson(const ZeroCopyStats& z) {
  // Sends completed in ranges carry their range's code; with both codes seen, some of
  // them may have been counted under the other one (stack/zerocopy_completions.h).
  const bool approximate = z.ranged > 0 && z.copied > 0 && z.zerocopy > 0;
  return {{"completions", z.completions},
          {"copied", z.copied},
          {"zerocopy", z.zerocopy},
          {"ranged_sends", z.ranged},
          {"split_approximate", approximate},
          {"enobufs_retries", z.enobufs_retries},
          {"outstanding_at_end", z.outstanding_at_end}};
}

}  // namespace zcb
