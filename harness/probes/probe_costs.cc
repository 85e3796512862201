#include "harness/probes/probe_costs.h"

namespace zcb {

const std::vector<EbpfGroupCost>& EbpfGroupCosts() {
  static const std::vector<EbpfGroupCost> costs = {
      {"tlb_flush", true, "probes.tlb_flush*, per_gib.tlb_flushes; the TLB figure", "PENDING"},
      {"ipi", true, "probes.ipi*, per_gib.ipis; the IPI figure", "PENDING"},
      {"page_faults", true, "probes.page_faults*, per_gib.page_faults", "PENDING"},
      {"net_traffic", true, "metrics.copies, probes.*copy*, xmit*, retransmits; the memory model; the copies figure", "PENDING"},
      {"softirq_time", true, "probes.softirq*", "PENDING"},
  };
  return costs;
}

}  // namespace zcb
