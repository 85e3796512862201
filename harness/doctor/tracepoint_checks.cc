// The doctor's tracepoint checks: each tracepoint the probes attach to, whether the
// kernel has it, whether the probe's program attaches, and what it feeds in the record.

#include <map>
#include <string>

#include "harness/doctor/checks.h"
#include "harness/probes/ebpf_probe.h"

namespace zcb::doctor {
namespace {

// What each probe tracepoint feeds in the record (harness/probes/README.md): the fields a
// missing one disables. Every entry of AllProbeTracepoints() has one.
const std::map<std::string, std::string>& TracepointUse() {
  static const std::map<std::string, std::string> use = {
      {"tlb:tlb_flush", "metrics.probes.tlb_flush"},
      {"ipi:ipi_send_cpu", "metrics.probes.ipi (with ipi_send_cpumask)"},
      {"ipi:ipi_send_cpumask", "metrics.probes.ipi (with ipi_send_cpu)"},
      {"irq_vectors:call_function_entry", "metrics.probes.ipi_detail.call_function"},
      {"irq_vectors:call_function_single_entry", "metrics.probes.ipi_detail.call_function_single"},
      {"csd:csd_queue_cpu", "metrics.probes.ipi_by_kind (the cross-CPU calls, by function)"},
      {"exceptions:page_fault_user", "metrics.probes.page_faults (with page_fault_kernel)"},
      {"exceptions:page_fault_kernel", "metrics.probes.page_faults (with page_fault_user)"},
      {"skb:skb_copy_datagram_iovec", "metrics.probes.kernel_copy_bytes (the memory model's fallback)"},
      {"sock:sock_recv_length", "metrics.probes.recv_copy_bytes and the memory model"},
      {"sock:sock_send_length", "metrics.probes.xmit_in_process (with net_dev_start_xmit)"},
      {"net:net_dev_xmit", "metrics.probes.xmit_packets / xmit_bytes"},
      {"net:net_dev_start_xmit", "metrics.probes.xmit_in_process and the memory model"},
      {"tcp:tcp_retransmit_skb", "metrics.probes.retransmits"},
      {"irq:softirq_entry", "metrics.probes.softirq_net_rx_ns / softirq_net_tx_ns"},
      {"irq:softirq_exit", "metrics.probes.softirq_net_rx_ns / softirq_net_tx_ns"},
      {"irq:softirq_raise", "metrics.probes.softirq.<vector>.count_trial_elsewhere / ns_trial_elsewhere"},
  };
  return use;
}

std::string TracepointFeeds(const std::string& tracepoint) {
  auto use = TracepointUse().find(tracepoint);
  // A tracepoint added to the probes but not above: the checklist still prints (the CLI
  // test of the doctor fails on it).
  return use != TracepointUse().end() ? use->second : "the fields of its probe group in metrics.probes";
}

}  // namespace

std::vector<SupportCheck> TracepointChecks(const TracepointCatalog& catalog) {
  std::vector<SupportCheck> checks;
  const auto ebpf = EbpfProbe::Open({});
  std::map<std::string, const TracepointProgram*> programs;
  for (const auto& group : ebpf->groups()) {
    for (const TracepointProgram& p : group->programs()) programs[p.tracepoint] = &p;
  }
  for (const std::string& tracepoint : AllProbeTracepoints()) {
    const size_t colon = tracepoint.find(':');
    const bool in_kernel = catalog.InKernel(tracepoint.substr(colon + 1));
    auto p = programs.find(tracepoint);
    const bool attached = p != programs.end() && p->second->attached();
    std::string detail;
    if (attached) {
      detail = "present; the probe program attaches";
    } else if (!in_kernel) {
      detail = catalog.MissingReason(tracepoint);
    } else if (p != programs.end()) {
      detail = "present, but the probe program does not attach: " + p->second->reason;
    } else {
      detail = "present, but its probe group did not load: " +
               (ebpf->unavailable_reason().empty() ? std::string("see the bpf checks") : ebpf->unavailable_reason());
    }
    checks.push_back({"tracepoint", tracepoint, attached, detail, attached ? "" : TracepointFeeds(tracepoint)});
  }
  return checks;
}

}  // namespace zcb::doctor
