#pragma once

// The parallel streams of a trial (--streams N, iperf3's -P): N connections (UDP: flows;
// request_response: clients), each with its own payload, workload, receiving end, sender
// thread and, where the receiver runs here, receiver thread, all released together by
// one window gate. A stream is the trial with its own CPUs (PlaceStreams), sending what
// the trial says (bytes, duration, rate: each per stream, as iperf3's -n and -b).
//
// After the window, what the streams reported is summed into one sender outcome and one
// set of received figures, from which the record's metrics are built as for one stream
// (the trial's CPU and the probes count the whole process: every stream's threads), and
// kept per stream (metrics.streams: each stream's bytes, goodput, integrity and CPUs, and
// the spread across them). Each stream is judged by its own receiver. One stream is the
// trial as it always was: nothing per stream is written.
//
// How a receiving end takes several streams is its kind's capability (StreamSharing): an
// end per stream, one end that counts them all (a sink: no per-stream receive figures),
// or one stream only (a remote receiver: the trial is unsupported, with the reason).

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "harness/trial/measured_window.h"
#include "harness/trial/receiving_end.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_record.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "workloads/payload_source.h"
#include "workloads/workload.h"

namespace zcb {

// The CPUs one stream's threads are pinned to (nullopt: not pinned).
struct StreamCpuPins {
  std::optional<int> sender, receiver;
};

// Each of `spec.streams` streams' CPUs by `spec.stream_cpus`, from the first stream's
// (spec.sender_cpu, spec.receiver_cpu), on a machine of `cpus` CPUs.
std::vector<StreamCpuPins> PlaceStreams(const TrialSpec& spec, int cpus);

// Whether an end of `kind` can take `streams` streams: unsupported, naming the
// parameter and the kind's reason, when it takes one only.
Status CheckParallelStreams(const ReceivingEndKind& kind, int streams);

// The spread of per-stream figures: least, most, mean, the slowest stream's index, and
// Jain's fairness index (sum x)^2 / (n sum x^2), 1 when all are equal and 1/n when one
// stream has everything (nullopt when every value is 0).
struct StreamSpread {
  double min = 0, max = 0, mean = 0;
  size_t slowest = 0;
  std::optional<double> jain;
};
StreamSpread SpreadOf(const std::vector<double>& values);

// One stream: the trial with its CPUs, what it sends with, and what its sides reported.
struct TrialStream {
  ResolvedTrial trial;
  PayloadSource* payload = nullptr;
  Workload* workload = nullptr;
  ReceivingEnd* end = nullptr;
  SenderOutcome sender;
  ReceivedFigures received;  // its own end's (StreamSharing::kEndPerStream)
  std::unique_ptr<PayloadSource> own_payload;
  std::unique_ptr<Workload> own_workload;
};

class StreamSet {
 public:
  // Makes a receiving end for one stream's trial and workload.
  using MakeEnd = std::function<Result<std::unique_ptr<ReceivingEnd>>(const ResolvedTrial&, const Workload&)>;
  // A stream's sender thread, released by `gate`.
  using SenderBody = std::function<void(TrialStream& stream, WindowGate& gate)>;

  // The streams of `trial`: the first sends from `payload` with `workload`, the others
  // get their own (from the same pattern); ends of `kind`, made by `make_end`, which the
  // caller has checked can take them (CheckParallelStreams).
  static Result<std::unique_ptr<StreamSet>> Create(const ResolvedTrial& trial, const ReceivingEndKind& kind,
                                                   PayloadSource& payload, Workload& workload, const Pattern& pattern,
                                                   const MakeEnd& make_end);

  size_t size() const { return streams_.size(); }
  const TrialStream& first() const { return *streams_.front(); }

  // Before any thread starts: every end's Prepare.
  Status Prepare();
  // Starts the receiver threads (ends that run here) and a sender thread per stream
  // (`sender`), opens the window once all have arrived, and joins them.
  MeasuredWindow Run(const TrialContext& context, const SenderBody& sender);

  // After Run: the senders' outcomes as one (sums; the first failure; the last end).
  SenderOutcome Senders() const;
  // The first receiver set-up that failed, or OK.
  Status ReceiverSetup() const;
  // Every end's figures (per stream), and their sum: what the trial received.
  ReceivedFigures Collect(const MeasuredWindow& window);
  // After Collect: each stream judged by its own end (JudgeTrial), the first failure,
  // named by its stream when there are several.
  Status Judge() const;
  // After Collect, for more than one stream: metrics.streams.
  std::optional<StreamsMetrics> Metrics(const MeasuredWindow& window) const;

 private:
  StreamSet(const ReceivingEndKind& kind, const ResolvedTrial& trial) : kind_(kind), trial_(trial) {}

  const ReceivingEndKind& kind_;
  const ResolvedTrial& trial_;
  std::vector<std::unique_ptr<TrialStream>> streams_;
  std::vector<std::unique_ptr<ReceivingEnd>> ends_;  // one per stream, or one for all
  std::optional<ReceivedFigures> shared_;            // kOneEndForAll: the one end's figures
  std::vector<std::optional<Error>> failures_;       // per stream, after Collect (Judge)
};

}  // namespace zcb
