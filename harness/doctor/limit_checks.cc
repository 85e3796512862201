// The doctor's limit checks: the locked-memory limit that lent pages count against,
// net.core.optmem_max that bounds outstanding MSG_ZEROCOPY notifications,
// perf_event_paranoid, and whether a memory-bandwidth ceiling can be set (resctrl MB).

#include <linux/capability.h>
#include <sys/resource.h>

#include <fmt/format.h>

#include "drivers/resctrl.h"
#include "harness/doctor/checks.h"

namespace zcb::doctor {

std::vector<SupportCheck> LimitChecks(uint64_t caps) {
  std::vector<SupportCheck> checks;
  rlimit memlock{};
  ::getrlimit(RLIMIT_MEMLOCK, &memlock);
  auto limit_text = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : fmt::format("{} KiB", v / 1024);
  };
  const bool ipc_lock = (caps >> CAP_IPC_LOCK) & 1;
  const bool memlock_ok = ipc_lock || memlock.rlim_cur == RLIM_INFINITY || memlock.rlim_cur >= (64u << 20);
  checks.push_back(
      {"limits", "locked memory (RLIMIT_MEMLOCK)", memlock_ok,
       fmt::format("soft {}, hard {}{}", limit_text(memlock.rlim_cur), limit_text(memlock.rlim_max),
                   ipc_lock ? " (CAP_IPC_LOCK: not enforced)" : ""),
       memlock_ok ? ""
                  : "large MSG_ZEROCOPY / SEND_ZC windows and registered buffers (pinned pages count against it)"});
  const std::string optmem = ReadLine("/proc/sys/net/core/optmem_max");
  const bool optmem_ok = !optmem.empty();
  checks.push_back(
      {"limits", "net.core.optmem_max", optmem_ok,
       optmem_ok
           ? optmem + " bytes: bounds the MSG_ZEROCOPY notifications a socket may have outstanding (ENOBUFS beyond)"
           : "unreadable",
       optmem_ok ? "" : "knowing when msg_zerocopy will hit ENOBUFS"});
  const std::string paranoid = ReadLine("/proc/sys/kernel/perf_event_paranoid");
  checks.push_back({"limits", "kernel.perf_event_paranoid", true, paranoid.empty() ? "unreadable" : paranoid, ""});
  // As --membw-limit finds it, except that the doctor does not mount resctrl.
  const auto mb = FindMemoryBandwidthAllocation(/*mount_if_needed=*/false);
  checks.push_back(
      {"limits", "memory-bandwidth allocation (resctrl MB)", mb.ok(),
       mb.ok() ? fmt::format("resctrl at {}: {} MB domain{}, {}% to 100% in steps of {}%", mb->root, mb->domains.size(),
                             mb->domains.size() == 1 ? "" : "s", mb->min_percent, mb->granularity_percent)
               : mb.error().ToString(),
       mb.ok() ? "" : "--membw-limit (a memory-bandwidth ceiling); --membw-antagonist remains as its emulation"});
  return checks;
}

}  // namespace zcb::doctor
