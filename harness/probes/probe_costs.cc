#include "harness/probes/probe_costs.h"

namespace zcb {

// Direct costs: the programs' run time (BPF run-time statistics, which add their own two
// clock reads per run) as a share of both CPUs' time, loopback, receiver read, for
// write 4K / write 64K / mmap_write 16K; workloads/bench/probe_overhead.py, 2-vCPU KVM
// guest, kernel 6.18, on a busy machine (README, "Probe overhead").
const std::vector<EbpfGroupCost>& EbpfGroupCosts() {
  static const std::vector<EbpfGroupCost> costs = {
      {"tlb_flush", true, "probes.tlb_flush*, per_gib.tlb_flushes; the TLB figure",
       "0.04% / 0.08% / 0.35% of the CPUs (one program per flush, ~80-90 ns a run)"},
      {"ipi", true, "probes.ipi*, per_gib.ipis; the IPI figure",
       "0.03% / 0.05% / 0.10% (one program per IPI sent or handled)"},
      {"page_faults", true, "probes.page_faults*, per_gib.page_faults",
       "0.07% / 0.05% / 0.24% (one program per fault, ~90-120 ns a run)"},
      {"net_traffic", true, "metrics.copies, the memory model, probes.*copy*, recv*, xmit*, retransmits; the copies figure",
       "0.42% / 0.66% / 0.81% (two programs per transmitted skb, BTF-typed, ~110-170 ns; one per receive call)"},
      {"softirq_time", true, "probes.softirq*",
       "0.36% / 0.40% / 0.68% (two programs per softirq, ~110-135 ns a run)"},
      {"xmit_devices", false, "probes.xmit_packets, xmit_bytes, xmit_by_device, per_gib.xmit_packets (no figure)",
       "0.24% / 0.53% / 0.68% (one program and a hash update per skb of every device, ~115-150 ns a run): "
       "the largest cost no figure uses, so off by default"},
  };
  return costs;
}

}  // namespace zcb
