#pragma once

// A trial's metrics and verdict, from what its sender and its receiving end reported:
// the same for every protocol and path (the figures say what differs).

#include <nlohmann/json.hpp>

#include "harness/trial/measured_window.h"
#include "harness/trial/receiving_end.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_record.h"
#include "workloads/payload_source.h"

namespace zcb {

// The record's metrics, the probes' results included (each probe adds its own).
TrialMetrics BuildMetrics(const ResolvedTrial& trial, const TrialContext& context, const SenderOutcome& sender,
                          const ReceivedFigures& received, const MeasuredWindow& window, const PayloadSource& payload);

// The first failure of a measured trial, which explains the others (a receiver that went
// away makes the sender fail): the receiving end lost, the sender, the receiver, then
// what arrived (bytes, integrity, datagram headers). `receiver_name` names the receiver.
Status JudgeTrial(const ResolvedTrial& trial, const SenderOutcome& sender, const ReceivedFigures& received,
                  const char* receiver_name);

}  // namespace zcb
