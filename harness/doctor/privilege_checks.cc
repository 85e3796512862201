// The doctor's privilege checks: root and each capability, with what it enables.

#include <linux/capability.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "harness/doctor/checks.h"

namespace zcb::doctor {

uint64_t EffectiveCapabilities() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) return std::strtoull(line.c_str() + 7, nullptr, 16);
  }
  return 0;
}

std::vector<SupportCheck> PrivilegeChecks(uint64_t caps) {
  std::vector<SupportCheck> checks;
  const bool root = ::geteuid() == 0;
  checks.push_back({"privilege", "root", root, root ? "running as root" : fmt::format("uid {}", ::geteuid()),
                    root ? "" : "whatever the capabilities below do not grant"});
  const struct {
    int cap;
    const char* name;
    const char* disables;
  } kCaps[] = {
      {CAP_BPF, "CAP_BPF", "the eBPF probes (metrics.probes)"},
      {CAP_PERFMON, "CAP_PERFMON", "the eBPF probes and system-wide hardware counters"},
      {CAP_SYS_ADMIN, "CAP_SYS_ADMIN",
       "network namespaces (veth, shaped, routed paths), mounting tracefs, cold page cache"},
      {CAP_NET_ADMIN, "CAP_NET_ADMIN", "veth and qdisc set-up, offload toggles"},
      {CAP_NET_RAW, "CAP_NET_RAW", "packet_tx_ring (AF_PACKET)"},
      {CAP_IPC_LOCK, "CAP_IPC_LOCK", "pinning beyond the locked-memory limit (MSG_ZEROCOPY, registered buffers)"},
  };
  for (const auto& c : kCaps) {
    const bool has = (caps >> c.cap) & 1;
    checks.push_back({"privilege", c.name, has, has ? "effective" : "not in the effective set", has ? "" : c.disables});
  }
  return checks;
}

}  // namespace zcb::doctor
