#pragma once

// The memory-traffic model, for machines without memory-controller counters: bytes
// read and written by the copies a trial makes, from what the probes measured in the
// trial process and what the strategy declares. Every copy of n bytes reads n and
// writes n; caches are not modelled (a copy whose source is still in cache costs the
// memory bus less than the model says). Terms:
//
//   send_copy_bytes      payload copied into kernel memory on the send side: bytes sent x
//                        the share of the trial process's transmitted skb bytes that held
//                        kernel copies (net:net_dev_start_xmit, skb_shared_info flags),
//                        lent (zero-copy) skbs counting as copies in the proportion of the
//                        strategy's completions flagged "copied" (when it reports them).
//                        Spliced page references (sendfile, splice) are not copies. Shares
//                        are of transport payload (headers excluded).
//   receive_copy_bytes   kernel-to-user copies on receive: bytes recvmsg() returned without
//                        MSG_TRUNC in the trial process (sock:sock_recv_length), else
//                        skb:skb_copy_datagram_iovec (which misses UDP's copy of linear skbs)
//   verify_read_bytes    the receiver reading every delivered byte to check it (verify mode)
//   generate_write_bytes the sender writing each payload byte it generates (generated source)
//
//   read_bytes  = send_copy + receive_copy + verify_read
//   write_bytes = send_copy + receive_copy + generate_write
//
// DMA by a real NIC and page-cache fills from disk are not counted.

#include <nlohmann/json.hpp>

#include "harness/probes/tracepoint_groups.h"
#include "harness/probes/window_probe.h"

namespace zcb {

struct MemoryModelResult {
  bool available = false;
  std::string reason;  // why not, when unavailable
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  nlohmann::json detail;  // the terms and what they were computed from
};

MemoryModelResult ModelMemoryTraffic(const WindowSummary& summary, const DataMovementWindow& movement);

}  // namespace zcb
