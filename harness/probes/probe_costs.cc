#include "harness/probes/probe_costs.h"

namespace zcb {

// Direct costs: the programs' run time (BPF run-time statistics, which add their own two
// clock reads per run) as a share of both CPUs' time, loopback, receiver read, for
// write 4K / write 64K / mmap_write 16K, one trial each with --probes default,bpf_stats
// (xmit_devices: all,bpf_stats) on 2026-12-07, 2-vCPU KVM guest, kernel 6.18, on a busy
// machine (README, "Probe overhead"). They scale with the trial's send, packet, fault and
// flush rates.
const std::vector<EbpfGroupCost>& EbpfGroupCosts() {
  static const std::vector<EbpfGroupCost> costs = {
      {"tlb_flush", true, "probes.tlb_flush*, per_gib.tlb_flushes; the TLB figure",
       "0.05% / 0.06% / 0.19% of the CPUs (one program per flush, ~80-90 ns a run)"},
      {"ipi", true, "probes.ipi*, per_gib.ipis; the IPI figure",
       "0.03% / 0.04% / 0.03% (one program per IPI sent or handled, ~100-180 ns a run) before csd:csd_queue_cpu; with it, "
       "write 64K 0.4-0.6% against 0.16-0.27% without in the same runs (one more program per cross-CPU function call "
       "queued, ~130 ns a run, on a machine queueing ~50000/s for others)"},
      {"page_faults", true, "probes.page_faults*, per_gib.page_faults",
       "0.08% / 0.12% / 0.25% (one program per fault, ~80-90 ns a run)"},
      {"net_traffic", true, "metrics.copies, the memory model, probes.*copy*, recv*, xmit*, retransmits; the copies figure",
       "1.09% / 0.57% / 0.34% (one BTF-typed program per transmitted skb, ~130 ns a run; one per send call, ~70-90 ns; one per receive call and per skb copied to user memory, ~90 ns)"},
      {"softirq_time", true, "probes.softirq*; the softirq part of cpu.ns_per_kib",
       "0.34% / 0.41% / 0.22% (two programs per softirq, ~120-135 ns a run) before the raise program; with it, write 4K "
       "1.9%, write 64K 2.0-2.2% against 1.2-1.4% for the two alone in the same runs (a third program per softirq "
       "raise, ~110 ns a run, most leaving at once; a machine running ~250000 softirqs/s for others)"},
      {"xmit_devices", false, "probes.xmit_packets, xmit_bytes, xmit_by_device, per_gib.xmit_packets (no figure)",
       "0.29% / 0.18% / 0.21% (one program and a hash update per skb of every device, ~140-150 ns a run): "
       "the largest cost no figure uses, so off by default"},
  };
  return costs;
}

}  // namespace zcb
