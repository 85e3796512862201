#include "harness/trial/receiving_end.h"

#include <random>

#include <fmt/format.h>

namespace zcb {

Result<std::unique_ptr<ReceivingEnd>> CreateReceivingEnd(const ResolvedTrial& trial, NetworkPath& path, const Pattern& pattern) {
  // A receiver on another host: decided by capability, never by the path's name.
  if (path.capabilities().remote_receiver) return CreateRemoteReceivingEnd(trial, path);
  // No receiver at all: the path's sink counts what it dropped.
  if (!path.capabilities().has_receiver) return CreateSinkReceivingEnd(trial, path);
  return CreateLocalReceivingEnd(trial, path, pattern);
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
