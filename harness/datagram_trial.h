#pragma once

// The UDP trial flow: datagrams from a SendStrategy to the UDP receiver
// (stack/datagram_receiver.h) over a NetworkPath, measured over a window, ending in one
// zcbench.trial record with a metrics.udp object. RunTrial() hands every
// --protocol udp trial to it.
//
// What differs from a TCP stream: the sender's socket is a connected UDP socket; nothing
// tells the receiver where the flow ends, so the sender publishes its datagram count when
// it is done and the receiver drains for TrialSpec::drain_s (see DatagramReceiver); loss
// is a measurement, not a failure; and the sender's and the receiver's rates differ by
// what was lost, so both are reported.

#include <nlohmann/json.hpp>

#include "harness/trial.h"

namespace zcb {

nlohmann::json RunDatagramTrial(const ResolvedTrial& trial, const TrialContext& context);

}  // namespace zcb
