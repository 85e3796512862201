#include "harness/probes/memory_model.h"

#include <cmath>
#include <optional>

namespace zcb {

MemoryModelResult ModelMemoryTraffic(const WindowSummary& summary, const DataMovementWindow& movement) {
  MemoryModelResult out;
  // Receive copies: recvmsg() bytes not discarded (sock:sock_recv_length) see every copy
  // path; skb_copy_datagram_iovec misses UDP's direct copy of linear skbs.
  std::optional<uint64_t> receive_copy_measured = movement.recv_copy_bytes;
  const char* receive_basis = "sock:sock_recv_length";
  if (!receive_copy_measured) {
    receive_copy_measured = movement.kernel_copy_bytes;
    receive_basis = "skb:skb_copy_datagram_iovec";
  }
  if (!receive_copy_measured) {
    out.reason = "the model needs a receive-copy count (tracepoint sock:sock_recv_length or skb:skb_copy_datagram_iovec; eBPF probes)";
    return out;
  }
  if (!movement.xmit_copied_bytes) {
    out.reason = "the model needs the transmit classification of tracepoint net:net_dev_start_xmit (eBPF probes)";
    return out;
  }
  // Lent (zero-copy) pages that the kernel copied after all: the strategy's completions
  // say which fraction, when it declares that it reports them.
  nlohmann::json fraction_json = nullptr;
  double copied_fraction = 0;
  const uint64_t lent = movement.xmit_zerocopy_bytes.value_or(0);
  if (summary.caps.reports_zerocopy && summary.zerocopy.completions > 0) {
    copied_fraction = static_cast<double>(summary.zerocopy.copied) / static_cast<double>(summary.zerocopy.completions);
    fraction_json = copied_fraction;
  }
  // Shares of the transmitted bytes, applied to the bytes sent: a transmit that ran in
  // another context (ksoftirqd) is missing from the process's counts, not from the share.
  const double copied = static_cast<double>(*movement.xmit_copied_bytes);
  const double classified = copied + static_cast<double>(movement.xmit_spliced_bytes.value_or(0)) + static_cast<double>(lent);
  if (classified <= 0 && summary.bytes_sent > 0) {
    out.reason = "no transmit of the trial process was classified (net:net_dev_start_xmit saw none of its skbs)";
    return out;
  }
  const double sent = static_cast<double>(summary.bytes_sent);
  const double copy_share = classified > 0 ? (copied + static_cast<double>(lent) * copied_fraction) / classified : 0.0;
  const uint64_t send_copy = static_cast<uint64_t>(std::llround(sent * copy_share));
  const uint64_t receive_copy = *receive_copy_measured;
  const uint64_t verify_read = summary.receiver_mode == ReceiverMode::kVerify ? summary.bytes_received : 0;
  const uint64_t generate_write = summary.source == SourceKind::kGenerated ? summary.bytes_sent : 0;

  out.available = true;
  out.read_bytes = send_copy + receive_copy + verify_read;
  out.write_bytes = send_copy + receive_copy + generate_write;
  out.detail = {
      {"send_copy_bytes", send_copy},
      {"receive_copy_bytes", receive_copy},
      {"receive_copy_basis", receive_basis},
      {"verify_read_bytes", verify_read},
      {"generate_write_bytes", generate_write},
      {"xmit_copied_bytes", *movement.xmit_copied_bytes},
      {"xmit_spliced_bytes", movement.xmit_spliced_bytes.value_or(0)},
      {"xmit_zerocopy_bytes", lent},
      {"zerocopy_copied_fraction", fraction_json},
      {"send_copy_share", copy_share},
      {"lends_buffers", summary.caps.lends_buffers},
  };
  if (lent > 0 && fraction_json.is_null()) {
    out.detail["note"] = "lent (zero-copy) bytes counted as not copied: the strategy reports no completion flags";
  }
  if (summary.bytes_received > 0) {
    const double payload = static_cast<double>(summary.bytes_received);
    out.detail["read_per_payload_byte"] = static_cast<double>(out.read_bytes) / payload;
    out.detail["write_per_payload_byte"] = static_cast<double>(out.write_bytes) / payload;
  }
  return out;
}

}  // namespace zcb
