// bulk: one long stream (TCP) or datagram flow (UDP) of pattern bytes, sent in
// message_size pieces by the paced loop (workloads/send_loop.h) until the byte count or
// the duration is reached; the receiver verifies every byte. The workload of a message
// size sweep: what a strategy costs per byte when nothing else is in the way.

#include "workloads/workloads.h"

namespace zcb {
namespace {

class BulkWorkload final : public Workload {
 public:
  Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) override {
    return SendPaced(*send.strategy, *send.payload, send.schedule, send.start, send.cancel, sends_done);
  }
  ReceiverExpectation expectation() const override { return ReceiverExpectation::kPatternStream; }
};

}  // namespace

WorkloadInfo BulkWorkloadInfo() {
  WorkloadInfo info;
  info.name = "bulk";
  info.summary = "one long stream or datagram flow of pattern bytes in message-size sends, every byte verified";
  info.needs.protocols = EnumSet<Protocol>{Protocol::kTcp, Protocol::kUdp};
  info.needs.sources = AllSourceKinds();
  info.needs.message_boundaries = false;
  info.create = [](const Options&) -> Result<std::unique_ptr<Workload>> {
    return std::unique_ptr<Workload>(std::make_unique<BulkWorkload>());
  };
  return info;
}

}  // namespace zcb
