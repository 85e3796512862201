// The receiving end of a path without a receiver (capability has_receiver false): the
// sink the path drops every packet into. Nothing runs here; what the sink took is read
// from the path (NetworkPath::ReadSink) before the sender starts and after it ends, and
// their difference is what the trial delivered. Nothing checks the bytes: integrity is
// not verifiable, and the record says so.

#include <netinet/in.h>

#include <chrono>
#include <thread>

#include "harness/trial/receiving_end.h"

namespace zcb {
namespace {

// The port datagrams are addressed to (the discard service's): nothing listens on it,
// and nothing has to: the sink drops them before any socket could.
constexpr uint16_t kSinkPort = 9;

class SinkEnd final : public ReceivingEnd {
 public:
  SinkEnd(const ResolvedTrial& trial, NetworkPath& path) : trial_(trial), path_(path), flow_id_(NewFlowId()) {}

  bool runs_here() const override { return false; }
  const char* name() const override { return "the sink"; }

  Status Prepare() override {
    ZCB_ASSIGN_OR_RETURN(before_, path_.ReadSink());
    return OkStatus();
  }
  void ReceiverThread(WindowGate& /*gate*/) override {}
  const Status& receiver_setup() const override { return setup_; }

  Result<sockaddr_storage> Address() override {
    sockaddr_storage addr = path_.ReceiverAddress();
    reinterpret_cast<sockaddr_in*>(&addr)->sin_port = htons(kSinkPort);
    return addr;
  }

  Status PrepareSender(int /*fd*/, SendContext& context) override {
    context.flow_id = flow_id_;
    return OkStatus();
  }

  Status EndFlow(int /*fd*/, const SendStats& /*stats*/, Status run) override { return run; }

  ReceivedFigures Collect(const SenderOutcome& sender, const MeasuredWindow& /*window*/) override {
    ReceivedFigures figures;
    figures.integrity_reason =
        "no receiver: the path drops every packet before delivery, so nothing can check the bytes";
    auto taken = TakenAfter(sender);
    if (!taken.ok()) {
      figures.run = std::move(taken).error().Context("read what the sink took");
      figures.last_delivery = sender.sends_done;
      return figures;
    }
    DatagramReceiveStats rx;
    rx.datagrams_received = taken->counts.udp_datagrams;
    rx.bytes_received = rx.unique_bytes = taken->counts.udp_payload_bytes;
    rx.all_arrived = taken->counts.udp_datagrams >= sender.stats.datagrams;
    figures.bytes_received = taken->counts.udp_payload_bytes;
    figures.goodput_bytes = taken->counts.udp_payload_bytes;
    figures.datagrams = DatagramFigures{rx, flow_id_, taken->counts};
    figures.last_delivery = taken->complete_at;
    return figures;
  }

 private:
  struct Taken {
    SinkCounts counts;                   // during the trial
    TrialClock::time_point complete_at;  // when the sink had counted all it would
  };

  // What the sink counted since Prepare. A datagram sent may still be on its way through
  // the softirq that drops it: wait for the count to reach what was sent, at most the
  // trial's drain time.
  Result<Taken> TakenAfter(const SenderOutcome& sender) const {
    const auto give_up = TrialClock::now() + std::chrono::duration<double>(trial_.spec.drain_s);
    bool first = true;
    for (;;) {
      ZCB_ASSIGN_OR_RETURN(const SinkCounts now, path_.ReadSink());
      Taken taken{Since(now), TrialClock::now()};
      // Complete at the first look: the sink had it all when the last send returned.
      if (first) taken.complete_at = sender.sends_done;
      if (taken.counts.udp_datagrams >= sender.stats.datagrams || TrialClock::now() >= give_up) return taken;
      first = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  SinkCounts Since(const SinkCounts& now) const {
    SinkCounts d = now;
    d.udp_skbs -= before_.udp_skbs;
    d.udp_datagrams -= before_.udp_datagrams;
    d.udp_payload_bytes -= before_.udp_payload_bytes;
    d.udp_fragments -= before_.udp_fragments;
    d.other_skbs -= before_.other_skbs;
    d.other_bytes -= before_.other_bytes;
    return d;
  }

  const ResolvedTrial& trial_;
  NetworkPath& path_;
  uint32_t flow_id_;
  SinkCounts before_;
  Status setup_ = OkStatus();
};

Result<std::unique_ptr<ReceivingEnd>> CreateSinkEnd(const ReceivingEndSetup& setup) {
  return std::unique_ptr<ReceivingEnd>(std::make_unique<SinkEnd>(setup.trial, setup.path));
}

}  // namespace

// UDP only: a TCP handshake needs a peer, so a TCP trial finds no sink kind and is
// recorded unsupported (the compatibility check leaves such points out before that). The
// sink takes the pattern flow and counts it; it checks no byte. Its counts are the
// path's, of every flow: parallel streams share the one end.
std::vector<ReceivingEndKind> SinkReceivingEnds() {
  return {{"sink",
           ReceiverSite::kNone,
           Protocol::kUdp,
           {ReceiverExpectation::kPatternStream},
           CreateSinkEnd,
           StreamSharing::kOneEndForAll}};
}

}  // namespace zcb
