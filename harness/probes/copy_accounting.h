#pragma once

// metrics.copies: the payload bytes copied for a trial, where the kernel copies them.
//
//   send_call      copied from user memory into kernel memory by the send call itself
//                  (write, send, and the fallback of a zero-copy or splicing send on a
//                  device without scatter-gather, which copies at the call)
//   send_deferred  copied later by the kernel on behalf of the send: lent (zero-copy)
//                  pages that a local receiver got, copied on delivery
//                  (skb_orphan_frags_rx), as the strategy's completions flagged "copied"
//                  say
//   receive        copied from kernel memory to user memory by the receive calls
//
// Each figure has its bytes, bytes per payload byte (send figures per byte sent, receive
// per byte received), the source it comes from and what that source can miss; a figure
// that cannot be had is null with `<name>_reason`. The send figures come from the eBPF
// transmit classification (net:net_dev_start_xmit) as shares of the bytes sent, never
// from the strategy's name.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "harness/probes/tracepoint_groups.h"
#include "harness/probes/window_probe.h"

namespace zcb {

class EbpfProbe;

struct CopyFigure {
  std::optional<uint64_t> bytes;  // nullopt: see reason
  std::string reason;
  std::string source;  // the tracepoint, counter or model it comes from
  std::string can_miss;
};

struct CopyAccount {
  CopyFigure send_call;
  CopyFigure send_deferred;
  CopyFigure receive;
  // The transmit classification the send figures are shares of, when it was measured.
  std::optional<double> transmit_copied_share;
  std::optional<double> transmit_spliced_share;
  std::optional<double> transmit_lent_share;
  // Share of the strategy's zero-copy completions flagged "copied" (strategies that report them).
  std::optional<double> lent_copied_fraction;
};

// From what net_traffic measured in the trial process. `unavailable` is why there are no
// eBPF counts at all (empty when there are).
CopyAccount AccountCopies(const WindowSummary& summary, const DataMovementWindow& movement,
                          const std::string& unavailable);

// The metrics.copies object.
nlohmann::json CopiesJson(const CopyAccount& account, const WindowSummary& summary);

// Writes metrics.copies from the eBPF probe's last window, or nulls with the reason when
// the eBPF probes were not requested or could not load.
class CopiesProbe : public WindowProbe {
 public:
  explicit CopiesProbe(const EbpfProbe* ebpf) : ebpf_(ebpf) {}
  Status Begin() override { return OkStatus(); }
  Status End() override { return OkStatus(); }
  void Report(const WindowSummary& summary, nlohmann::json& metrics) override;

 private:
  const EbpfProbe* ebpf_;
};

}  // namespace zcb
