// The checklist `zcbench doctor` prints: every check says what it found, every missing
// piece what it disables, and the list covers the privileges, the kernel features and
// every tracepoint the probes attach to.

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/doctor/checklist.h"
#include "harness/probes/ebpf_probe.h"

namespace zcb {
namespace {

TEST(DoctorChecklist, ChecksEveryProbeTracepoint) {
  const std::vector<SupportCheck> checks = CheckHostSupport();
  std::set<std::string> names;
  for (const SupportCheck& c : checks) {
    names.insert(c.name);
    EXPECT_FALSE(c.detail.empty()) << c.name;
    if (!c.ok) {
      EXPECT_FALSE(c.disables.empty()) << c.name;
    }
  }
  for (const char* name : {"root", "BTF", "tlb:tlb_flush", "skb:skb_copy_datagram_iovec", "IORING_OP_SEND_ZC",
                           "SO_ZEROCOPY (TCP)", "net.core.optmem_max", "locked memory (RLIMIT_MEMLOCK)", "kprobes",
                           "fentry/fexit", "cycles", "resctrl MBM", "memory-controller counters"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
  for (const std::string& tracepoint : AllProbeTracepoints()) EXPECT_EQ(names.count(tracepoint), 1u) << tracepoint;
  EXPECT_EQ(SupportChecksJson(checks).size(), checks.size());
}

}  // namespace
}  // namespace zcb
