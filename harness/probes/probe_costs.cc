#include "harness/probes/probe_costs.h"

namespace zcb {

// Direct costs: the programs' run time (BPF run-time statistics, which add their own two
// clock reads per run) as a share of both CPUs' time, loopback, receiver read, for
// write 4K / write 64K / mmap_write 16K, one trial each with --probes all,bpf_stats, and
// the goodput ratio of the group alone against --probes none for write 4K (median of 7
// alternating rounds, workloads/bench/probe_overhead.py), on 2026-12-07, 2-vCPU KVM guest,
// kernel 6.18, quiet machine (README, "Probe overhead"). They scale with the trial's send,
// packet, fault, softirq and flush rates. net_traffic and softirq_time each cost more
// than the default set's whole budget (2% goodput, 3% CPU per KiB) at 4 KiB sends, so
// they are off by default: ask for them by name (a spec's [trial] probes, --probes).
// tlb_flush (mmap_write 16K) and ipi are at the edge of it alone: off by default too. What
// stays on: page_faults, and the counter and memory families.
const std::vector<EbpfGroupCost>& EbpfGroupCosts() {
  static const std::vector<EbpfGroupCost> costs = {
      {"tlb_flush", false, "probes.tlb_flush*, per_gib.tlb_flushes; the TLB figure",
       "0.00% / 0.00% / 1.0% of the CPUs (one program per flush, ~150 ns a run, on the sender's CPU; mmap_write 16K "
       "flushes ~130000 times a second): mmap_write 16K goodput 0.934 (0.925-1.020) of none alone, and 0.948-0.955 in "
       "the default set of the time, so off by default"},
      {"ipi", false, "probes.ipi*, per_gib.ipis; the IPI figure",
       "0.5% / 0.7% / 0.7% of the CPUs (three programs per cross-CPU call: queued, sent, handled, ~100-180 ns a run); "
       "write 4K goodput 0.983 (0.945-1.131) and mmap_write 16K 0.981 (0.935-1.007) of none alone: at the edge of the "
       "budget, so off by default"},
      {"page_faults", true, "probes.page_faults*, per_gib.page_faults",
       "0.00% / 0.00% / 0.26% of the CPUs (one program per fault, ~80-100 ns a run)"},
      {"net_traffic", false,
       "metrics.copies, the memory model, probes.*copy*, recv*, xmit*, retransmits; the copies figure",
       "2.5% / 2.0% / 1.2% of the CPUs; write 4K goodput 0.94 (0.90-0.98) of none (one BTF-typed program per "
       "transmitted skb, ~170 ns a run; one per send call, ~70-90 ns; one per receive call and per skb copied to user "
       "memory, ~80 ns): over the budget, so off by default"},
      {"softirq_time", false, "probes.softirq*; the softirq part of cpu.ns_per_kib",
       "1.4% / 2.4% / 1.0% of the CPUs; write 4K goodput 0.92 (0.89-1.06) of none (three programs per softirq: entry, "
       "exit and raise, ~120-190 ns a run): over the budget, so off by default; without it cpu.ns_per_kib lists the "
       "softirq work outside the trial's threads in ns_per_kib_omits"},
      {"xmit_devices", false, "probes.xmit_packets, xmit_bytes, xmit_by_device, per_gib.xmit_packets (no figure)",
       "0.29% / 0.18% / 0.21% (one program and a hash update per skb of every device, ~140-150 ns a run): "
       "the largest cost no figure uses, so off by default"},
  };
  return costs;
}

}  // namespace zcb
