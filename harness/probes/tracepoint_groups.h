#pragma once

// The eBPF tracepoint groups, one per skeleton (harness/probes/<name>.bpf.c):
//   tlb_flush     tlb:tlb_flush, per reason (count, pages, full flushes)
//   ipi           ipi:ipi_send_cpu, ipi:ipi_send_cpumask, irq_vectors:call_function_entry,
//                 irq_vectors:call_function_single_entry, csd:csd_queue_cpu
//   page_faults   exceptions:page_fault_user, exceptions:page_fault_kernel
//   net_traffic   skb:skb_copy_datagram_iovec, sock:sock_recv_length, sock:sock_send_length,
//                 net:net_dev_start_xmit, tcp:tcp_retransmit_skb
//   xmit_devices  net:net_dev_xmit, per device and network namespace
//   softirq_time  irq:softirq_entry, irq:softirq_exit, irq:softirq_raise
// Each counts system-wide; most also count what happened in the trial process's
// context (`*_in_process`); tlb_flush, ipi and softirq_time also what happened on the
// trial's own threads (`*_in_trial`, trial_threads.bpf.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/probes/tracepoint_group.h"
#include "stack/result.h"

namespace zcb {

Result<std::unique_ptr<TracepointGroup>> OpenTlbFlushGroup(const GroupConfig& config);
Result<std::unique_ptr<TracepointGroup>> OpenIpiGroup(const GroupConfig& config);
Result<std::unique_ptr<TracepointGroup>> OpenPageFaultsGroup(const GroupConfig& config);
Result<std::unique_ptr<TracepointGroup>> OpenNetTrafficGroup(const GroupConfig& config);
Result<std::unique_ptr<TracepointGroup>> OpenSoftirqTimeGroup(const GroupConfig& config);
Result<std::unique_ptr<TracepointGroup>> OpenXmitDevicesGroup(const GroupConfig& config);

// What net_traffic measured over the last window in the trial process, for the memory
// traffic model. A field is nullopt when its tracepoint was not attached.
struct DataMovementWindow {
  std::optional<uint64_t> kernel_copy_bytes;    // skb_copy_datagram_iovec on receive
  std::optional<uint64_t> recv_copy_bytes;      // recvmsg() bytes copied to user memory
  std::optional<uint64_t> xmit_copied_bytes;    // transmitted from kernel copies
  std::optional<uint64_t> xmit_spliced_bytes;   // transmitted from spliced page references
  std::optional<uint64_t> xmit_zerocopy_bytes;  // transmitted from lent user pages
};

// The net_traffic group's last window (all nullopt for another group or before a window).
DataMovementWindow NetTrafficWindow(const TracepointGroup& group);

}  // namespace zcb
