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

// metrics.<workload>: the workload's own report (Workload::Report) with, where its
// receiving end timed an exchange (metrics.request_response), the figures per request:
// requests, requests_per_s, bytes_per_s, cpu_ns_per_request, cpu_ns_per_kib and the eBPF
// probes' counts per request (probes.per_gib scaled), each null with a reason when the
// trial could not give it.
nlohmann::json WorkloadMetrics(nlohmann::json report, const TrialMetrics& metrics);

// The first failure of a measured trial, which explains the others (a receiver that went
// away makes the sender fail): the receiving end lost, the sender, the receiver, then
// what arrived (bytes, integrity, datagram headers). `receiver_name` names the receiver.
Status JudgeTrial(const ResolvedTrial& trial, const SenderOutcome& sender, const ReceivedFigures& received,
                  const char* receiver_name);

}  // namespace zcb
