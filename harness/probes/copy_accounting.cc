#include "harness/probes/copy_accounting.h"

#include <cmath>

#include "harness/probes/ebpf_probe.h"

namespace zcb {
namespace {

constexpr const char* kTransmitSource =
    "net:net_dev_start_xmit (eBPF): skb_shared_info flags of the transmitted skbs of the sockets the trial process "
    "sent "
    "on (sock:sock_send_length), as shares of their transport payload, applied to the bytes sent";
constexpr const char* kTransmitMisses =
    "an skb holding both copied and lent data counts by its flags (as lent); retransmitted skbs count again in the "
    "share; a socket of another process that reuses the address of a closed trial socket within the window would count";

CopyFigure Unavailable(const std::string& reason) {
  CopyFigure f;
  f.reason = reason;
  return f;
}

CopyFigure Measured(uint64_t bytes, std::string source, std::string can_miss) {
  CopyFigure f;
  f.bytes = bytes;
  f.source = std::move(source);
  f.can_miss = std::move(can_miss);
  return f;
}

CopyFigure ReceiveCopies(const WindowSummary& summary, const DataMovementWindow& movement) {
  if (!summary.receiver_local) {
    return Unavailable(
        "the receiver runs on the remote host (zcbench serve): its receive copies are not measured here");
  }
  // recvmsg() bytes not discarded see every copy path; skb_copy_datagram_iovec misses
  // UDP's direct copy of linear skbs.
  if (movement.recv_copy_bytes) {
    return Measured(*movement.recv_copy_bytes,
                    "sock:sock_recv_length (eBPF): bytes recvmsg() returned without MSG_TRUNC in the trial process",
                    "pages mapped by TCP_ZEROCOPY_RECEIVE are not copies and are not counted; receives that bypass "
                    "recvmsg (splice from a socket) are not seen");
  }
  if (movement.kernel_copy_bytes) {
    return Measured(*movement.kernel_copy_bytes,
                    "skb:skb_copy_datagram_iovec (eBPF) in the trial process (sock:sock_recv_length not attached)",
                    "UDP's direct copy of linear skbs (copy_linear_skb) has no tracepoint and is missed");
  }
  return Unavailable(
      "needs tracepoint sock:sock_recv_length or skb:skb_copy_datagram_iovec: the net_traffic eBPF group, "
      "off by default for its cost (--probes default,net_traffic; zcbench help probes)");
}

double PerByte(uint64_t bytes, uint64_t payload) { return static_cast<double>(bytes) / static_cast<double>(payload); }

nlohmann::json NullableShare(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

CopyAccount AccountCopies(const WindowSummary& summary, const DataMovementWindow& movement,
                          const std::string& unavailable) {
  CopyAccount out;
  if (!unavailable.empty()) {
    out.send_call = out.send_deferred = out.receive = Unavailable(unavailable);
    return out;
  }
  out.receive = ReceiveCopies(summary, movement);
  if (summary.caps.reports_zerocopy && summary.zerocopy.completions > 0) {
    out.lent_copied_fraction =
        static_cast<double>(summary.zerocopy.copied) / static_cast<double>(summary.zerocopy.completions);
  }
  if (!movement.xmit_copied_bytes) {
    out.send_call = out.send_deferred = Unavailable(
        "needs the transmit classification at tracepoint net:net_dev_start_xmit: the net_traffic eBPF group, "
        "off by default for its cost (--probes default,net_traffic; zcbench help probes)");
    return out;
  }
  const double copied = static_cast<double>(*movement.xmit_copied_bytes);
  const double spliced = static_cast<double>(movement.xmit_spliced_bytes.value_or(0));
  const double lent = static_cast<double>(movement.xmit_zerocopy_bytes.value_or(0));
  const double classified = copied + spliced + lent;
  if (classified <= 0 && summary.bytes_sent == 0) {
    out.send_call = out.send_deferred = Measured(0, kTransmitSource, "nothing was sent");
    return out;
  }
  if (classified <= 0) {
    out.send_call = out.send_deferred =
        Unavailable("no transmit of the trial process was classified (net:net_dev_start_xmit saw none of its skbs)");
    return out;
  }
  out.transmit_copied_share = copied / classified;
  out.transmit_spliced_share = spliced / classified;
  out.transmit_lent_share = lent / classified;
  // Shares of the transmitted payload applied to the bytes sent: retransmissions and a
  // trial socket forgotten by the socket map change the bytes classified, not the share.
  const double sent = static_cast<double>(summary.bytes_sent);
  out.send_call = Measured(static_cast<uint64_t>(std::llround(sent * *out.transmit_copied_share)), kTransmitSource,
                           kTransmitMisses);
  if (lent <= 0) {
    out.send_deferred = Measured(0, std::string(kTransmitSource) + "; no skb held lent pages", kTransmitMisses);
  } else if (out.lent_copied_fraction) {
    out.send_deferred = Measured(
        static_cast<uint64_t>(std::llround(sent * *out.transmit_lent_share * *out.lent_copied_fraction)),
        "lent share of the transmitted payload (net:net_dev_start_xmit, eBPF) x the share of the strategy's zero-copy "
        "completions flagged copied (SO_EE_CODE_ZEROCOPY_COPIED, IORING_NOTIF_USAGE_ZC_COPIED), applied to the bytes "
        "sent",
        "a completion covers a range of sends and is flagged copied when any of its skbs was copied, so a partly "
        "copied "
        "range counts whole; completions still outstanding when the window closed are not counted");
  } else {
    out.send_deferred = Unavailable(
        "the trial transmitted lent pages but the strategy reports no zero-copy completion flags: whether the kernel "
        "copied them later is not known");
  }
  return out;
}

nlohmann::json CopiesJson(const CopyAccount& account, const WindowSummary& summary) {
  nlohmann::json out = nlohmann::json::object();
  auto put = [&](const char* name, const CopyFigure& f, uint64_t payload) {
    if (!f.bytes) {
      out[name] = nullptr;
      out[std::string(name) + "_reason"] = f.reason;
      return;
    }
    out[name] = {
        {"bytes", *f.bytes},
        {"per_payload_byte", payload > 0 ? nlohmann::json(PerByte(*f.bytes, payload)) : nlohmann::json(nullptr)},
        {"source", f.source},
        {"can_miss", f.can_miss}};
  };
  put("send_call", account.send_call, summary.bytes_sent);
  put("send_deferred", account.send_deferred, summary.bytes_sent);
  put("receive", account.receive, summary.bytes_received);
  out["payload_bytes_sent"] = summary.bytes_sent;
  out["payload_bytes_received"] = summary.bytes_received;
  if (account.send_call.bytes && account.send_deferred.bytes && summary.bytes_sent > 0) {
    out["send_per_payload_byte"] = PerByte(*account.send_call.bytes + *account.send_deferred.bytes, summary.bytes_sent);
  } else {
    out["send_per_payload_byte"] = nullptr;
    out["send_per_payload_byte_reason"] =
        !account.send_call.bytes ? account.send_call.reason : account.send_deferred.reason;
  }
  if (account.transmit_copied_share) {
    out["transmit_shares"] = {{"copied", *account.transmit_copied_share},
                              {"spliced", NullableShare(account.transmit_spliced_share)},
                              {"lent", NullableShare(account.transmit_lent_share)}};
  }
  out["lent_copied_fraction"] = NullableShare(account.lent_copied_fraction);
  return out;
}

void CopiesProbe::Report(const WindowSummary& summary, nlohmann::json& metrics) {
  std::string unavailable;
  DataMovementWindow movement;
  if (ebpf_ == nullptr) {
    unavailable = "the eBPF probes were not requested (--probes)";
  } else if (!ebpf_->unavailable_reason().empty()) {
    unavailable = ebpf_->unavailable_reason();
  } else {
    movement = ebpf_->data_movement();
  }
  metrics["copies"] = CopiesJson(AccountCopies(summary, movement, unavailable), summary);
}

}  // namespace zcb
