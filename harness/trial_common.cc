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

std::string PointKey(const nlohmann::json& params) {
  std::string key = fmt::format("{}/{}/{}/{}/{}/{}/{}", params["protocol"].get<std::string>(),
                                params["strategy"].get<std::string>(), params["path"].get<std::string>(),
                                params["workload"].get<std::string>(), params["source"].get<std::string>(),
                                params["message_size"].get<uint64_t>(), params["receiver"].get<std::string>());
  // Pacing and a cold page cache make different points; the key names them only when
  // set, so that the keys of unpaced, warm points stay what they always were.
  if (params.contains("rate_bps") && params["rate_bps"].is_number() && params["rate_bps"].get<uint64_t>() != 0) {
    key += fmt::format(",rate_bps={}", params["rate_bps"].get<uint64_t>());
  }
  if (params.contains("page_cache") && params["page_cache"] == "cold") key += ",page_cache=cold";
  // A working set given explicitly (the default follows the host's cache) likewise.
  if (params.contains("working_set") && params["working_set"].is_number()) {
    key += fmt::format(",working_set={}", params["working_set"].get<uint64_t>());
  }
  // Host constraints (a sender CPU quota, memory-bandwidth antagonists), likewise.
  if (params.contains("constraints") && params["constraints"].is_object()) {
    const auto& c = params["constraints"];
    if (c.contains("sender_cpu_quota") && c["sender_cpu_quota"].is_number()) {
      key += fmt::format(",sender_cpu_quota={:g}", c["sender_cpu_quota"].get<double>());
    }
    if (c.contains("membw_antagonist_cpus") && c["membw_antagonist_cpus"].is_array() && !c["membw_antagonist_cpus"].empty()) {
      std::string cpus;
      for (const auto& cpu : c["membw_antagonist_cpus"]) cpus += fmt::format("{}{}", cpus.empty() ? "" : "+", cpu.dump());
      key += fmt::format(",membw_antagonist_cpus={}", cpus);
    }
  }
  // The receiver's UDP_GRO changes what is measured: it makes a different point.
  if (params.contains("udp") && params["udp"].is_object() && params["udp"].value("gro", false)) key += ",gro";
  for (const auto& [k, v] : params["options"].items()) key += fmt::format(",{}={}", k, v.get<std::string>());
  for (const auto& [k, v] : params["path_options"].items()) key += fmt::format(",path.{}={}", k, v.get<std::string>());
  return key;
}

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
