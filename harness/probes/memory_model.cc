#include "harness/probes/memory_model.h"

#include <optional>

#include "harness/probes/copy_accounting.h"

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
    out.reason =
        "the model needs a receive-copy count (tracepoint sock:sock_recv_length or skb:skb_copy_datagram_iovec; eBPF "
        "probes)";
    return out;
  }
  if (!movement.xmit_copied_bytes) {
    out.reason = "the model needs the transmit classification of tracepoint net:net_dev_start_xmit (eBPF probes)";
    return out;
  }
  // The send copies (at the call, and lent pages the kernel copied later) as metrics.copies
  // counts them; lent pages of a strategy that reports no completion flags count as not
  // copied here, and the detail says so.
  const CopyAccount copies = AccountCopies(summary, movement, "");
  if (!copies.send_call.bytes) {
    out.reason = "the model needs the send copies: " + copies.send_call.reason;
    return out;
  }
  const uint64_t lent = movement.xmit_zerocopy_bytes.value_or(0);
  const uint64_t send_copy = *copies.send_call.bytes + copies.send_deferred.bytes.value_or(0);
  const double copy_share =
      summary.bytes_sent > 0 ? static_cast<double>(send_copy) / static_cast<double>(summary.bytes_sent) : 0.0;
  const nlohmann::json fraction_json =
      copies.lent_copied_fraction ? nlohmann::json(*copies.lent_copied_fraction) : nlohmann::json(nullptr);
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
