#include "harness/trial/receiving_end.h"

#include <random>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace zcb {

std::string_view ToString(ReceiverSite site) {
  switch (site) {
    case ReceiverSite::kHere:
      return "local";
    case ReceiverSite::kRemote:
      return "remote";
    case ReceiverSite::kNone:
      return "sink";
  }
  return "?";
}

ReceiverSite ReceiverSiteOf(const PathCapabilities& caps) {
  if (caps.remote_receiver) return ReceiverSite::kRemote;
  if (!caps.has_receiver) return ReceiverSite::kNone;
  return ReceiverSite::kHere;
}

const std::vector<ReceivingEndKind>& ReceivingEndKinds() {
  static const std::vector<ReceivingEndKind> kinds = [] {
    std::vector<ReceivingEndKind> all = LocalReceivingEnds();
    for (ReceivingEndKind& kind : RemoteReceivingEnds()) all.push_back(kind);
    for (ReceivingEndKind& kind : SinkReceivingEnds()) all.push_back(kind);
    return all;
  }();
  return kinds;
}

Result<const ReceivingEndKind*> ChooseReceivingEnd(const std::vector<ReceivingEndKind>& kinds, ReceiverSite site,
                                                   Protocol protocol, ReceiverExpectation expectation,
                                                   std::string_view workload) {
  // Where the receiver runs is the path's capability, never its name; what it must check
  // is the workload's expectation, never the workload's name.
  std::vector<std::string_view> there;
  for (const ReceivingEndKind& kind : kinds) {
    if (kind.site != site || kind.protocol != protocol) continue;
    if (kind.checks.Has(expectation)) return &kind;
    there.push_back(kind.name);
  }
  if (there.empty()) {
    return Unsupportedf("no {} receiving end over {} in this build", ToString(site), ToString(protocol));
  }
  return Unsupportedf("workload {} expects the receiver to check a {}, which the {} receiving end cannot check",
                      workload, ToString(expectation), fmt::join(there, " or "));
}

ReceivedFigures DatagramReceivedFigures(const DatagramReceiveStats& rx, uint32_t flow_id, ReceiverMode mode) {
  ReceivedFigures figures;
  figures.bytes_received = rx.unique_bytes;
  // goodput: verify counts what verified; read and discard cannot check, so they count
  // the datagrams that arrived (first copies), as metrics.udp.goodput_counts says.
  figures.goodput_bytes = mode == ReceiverMode::kVerify ? rx.integrity.verified_bytes : rx.unique_bytes;
  figures.recv_calls = rx.recv_calls;
  figures.integrity = IntegrityMetrics::Of(rx.integrity);
  // For datagrams: the byte within the first corrupt datagram (first_mismatch_sequence).
  figures.integrity->first_mismatch_sequence = rx.first_corrupt_sequence;
  figures.datagrams = DatagramFigures{rx, flow_id};
  return figures;
}

uint32_t NewFlowId() {
  std::random_device rd;
  uint32_t id = 0;
  while (id == 0) id = rd();
  return id;
}

}  // namespace zcb
