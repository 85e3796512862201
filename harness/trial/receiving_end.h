#pragma once

// The receiving end of a trial, as the trial runner (trial_runner.cc) sees it: where the
// receiver runs (a thread of this process, or `zcbench serve` on another host), the
// address the sender sends to, what the sender tells it when the flow ends, and what it
// received. The runner never asks which end it has; the kind of end is chosen once
// (ChooseReceivingEnd), by the protocol, the path's remote_receiver capability and what
// the workload expects the receiver to check (workloads/workload.h, ReceiverExpectation),
// which each kind declares:
//
//   local stream      StreamReceiver on a thread here     local_receiving_end.cc
//   local datagram    DatagramReceiver on a thread here   local_receiving_end.cc
//   local exchange    a request/response client here      local_exchange_end.cc
//   remote stream     the peer's StreamReceiver           remote_receiving_end.cc
//   remote datagram   the peer's DatagramReceiver         remote_receiving_end.cc
//   sink              none: the path's sink counts        sink_receiving_end.cc
//
// A workload whose expectation no kind for its protocol and path checks is refused as
// unsupported, naming the expectation and the end. A receiver with another expectation
// is a new kind (or a kind that checks more): its class, and its entry beside the others
// of its file.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/network_path.h"
#include "harness/probes/cpu_accounting.h"
#include "harness/trial/measured_window.h"
#include "harness/trial/trial.h"
#include "harness/trial/trial_record.h"
#include "stack/datagram_receiver.h"
#include "stack/latency_histogram.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/socket_options.h"
#include "stack/types.h"
#include "workloads/workload.h"

namespace zcb {

// What the sender thread reports back to the runner.
struct SenderOutcome {
  Status setup = OkStatus();  // path side, constraints, pinning, socket, the strategy
  Status run = OkStatus();    // the sends, and telling the receiving end that they ended
  SideCpu cpu;                // the thread's own CPU time over its run (and its io_uring workers')
  int tid = 0;
  SendStats stats;
  TrialClock::time_point sends_done{};              // when its last send returned
  TrialClock::time_point end{};                     // when the receiving end had been told the flow ended
  nlohmann::json tcp_congestion;                    // a TCP sender's TcpCongestionJson (null: no socket)
  std::vector<AppliedSocketOption> socket_options;  // the sender's, read back once connected
  nlohmann::json optmem_max;                        // OptmemMaxJson in the sender's namespace (null: not reached)
};

// The datagram counts of a datagram end, and the flow they were counted for.
struct DatagramFigures {
  DatagramReceiveStats stats;
  uint32_t flow_id = 0;
  std::optional<SinkCounts> sink;  // a sink's counts over the trial (no receiver: `stats` are made from them)
};

// What the client of a request/response exchange counted and timed.
struct ExchangeFigures {
  uint64_t transactions = 0;  // responses read whole
  uint64_t requests_sent = 0;
  LatencyHistogram latency_ns;  // request written to the response's last byte read, CLOCK_MONOTONIC
  // Responses with HTTP heads: those whose head or body differed from the expected.
  std::optional<uint64_t> corrupted_responses;
};

// What a receiving end reports once the window has closed.
struct ReceivedFigures {
  std::optional<uint64_t> bytes_received;  // nullopt: unknown (the remote receiver's result was lost)
  uint64_t goodput_bytes = 0;              // what goodput counts (datagrams: verified ones, when verifying)
  std::optional<uint64_t> recv_calls;
  std::optional<IntegrityMetrics> integrity;
  std::optional<std::string> integrity_reason;  // why integrity is null (nothing could check it)
  std::optional<ReceiveZeroCopyMetrics> receive_zerocopy;
  std::optional<DatagramFigures> datagrams;  // datagram ends
  std::optional<ExchangeFigures> exchange;   // request/response ends
  TrialClock::time_point last_delivery{};    // the end of the window as the receiving end saw it
  // The receiver's CPU: its thread's time (here, or as the peer measured it), and what
  // the trial's CPU figure cannot include because of where it ran.
  std::optional<double> receiver_thread_s;
  bool receiver_on_this_host = true;
  std::vector<std::string> cpu_omits;
  int receiver_tid = 0;
  std::optional<RemoteMetrics> remote;              // a peer's: metrics.remote
  nlohmann::json receiver_host_cpu;                 // a peer's cpu object: metrics.cpu.receiver_host
  std::optional<Error> lost;                        // the receiving end is gone; says why (its first failure)
  std::vector<AppliedSocketOption> socket_options;  // the receiver's, read back once it had its socket
  Status run = OkStatus();                          // the receiver's own failure
};

class ReceivingEnd {
 public:
  virtual ~ReceivingEnd() = default;

  // Whether the receiver is a thread of this process (the window gate then waits for it).
  virtual bool runs_here() const = 0;
  // Names the receiver in errors: "the receiver", "the remote receiver".
  virtual const char* name() const = 0;

  // Before any thread starts: a remote end asks its peer for a receiver.
  virtual Status Prepare() = 0;
  // The receiver thread (runs_here() only): sets up, arrives at `gate`, receives.
  virtual void ReceiverThread(WindowGate& gate) = 0;
  // The receiver thread's set-up (OkStatus for an end without a thread).
  virtual const Status& receiver_setup() const = 0;

  // On the sender thread, in its set-up: the address to send to (a local end waits for
  // its thread to bind it).
  virtual Result<sockaddr_storage> Address() = 0;
  // On the sender thread, once its socket is connected: what the strategy may learn from
  // the receiver (its progress, the flow id), and socket options the end needs.
  virtual Status PrepareSender(int fd, SendContext& context) = 0;
  // On the sender thread after its last send: tells the receiver that the flow ended.
  // `run` is how the sends went; the result replaces it.
  virtual Status EndFlow(int fd, const SendStats& stats, Status run) = 0;

  // After the window: what was received.
  virtual ReceivedFigures Collect(const SenderOutcome& sender, const MeasuredWindow& window) = 0;
};

// What a receiving end is set up with. `pattern` and `path` must outlive the end.
struct ReceivingEndSetup {
  const ResolvedTrial& trial;
  NetworkPath& path;
  const Pattern& pattern;
  ReceiverExpectation expectation;   // what the trial's workload says the receiver is to check
  std::optional<Exchange> exchange;  // a request/response workload's (Workload::exchange)
};

// Where a path puts the receiver (its capabilities, never its name).
enum class ReceiverSite {
  kHere,    // a thread of this process
  kRemote,  // another host's `zcbench serve` (capability remote_receiver)
  kNone,    // nowhere: the path drops every packet into a sink (capability has_receiver false)
};
std::string_view ToString(ReceiverSite site);
ReceiverSite ReceiverSiteOf(const PathCapabilities& caps);

// How a kind of end takes a trial's parallel streams (--streams N, harness/trial/stream_set.h).
enum class StreamSharing {
  kEndPerStream,  // an end per stream, its receiver checking that stream alone
  kOneEndForAll,  // one end takes every stream's flow and counts them together (a sink)
  kOneStream,     // one stream only (ReceivingEndKind::one_stream_reason says why)
};

// A kind of receiving end and what it can do: where its receiver runs, its protocol, the
// expectations its receiver takes and how it takes parallel streams (capabilities, as a
// strategy's are). A sink takes a pattern flow and counts it, but checks no byte: its
// records say integrity is not verifiable.
struct ReceivingEndKind {
  std::string_view name;  // "local stream", for messages
  ReceiverSite site = ReceiverSite::kHere;
  Protocol protocol = Protocol::kTcp;
  EnumSet<ReceiverExpectation> checks;
  Result<std::unique_ptr<ReceivingEnd>> (*create)(const ReceivingEndSetup& setup) = nullptr;
  StreamSharing streams = StreamSharing::kEndPerStream;
  std::string_view one_stream_reason;  // kOneStream: why, for the unsupported record
};

// The kinds of this build: the local ones (local_receiving_end.cc), the remote ones
// (remote_receiving_end.cc) and the sink's (sink_receiving_end.cc).
std::vector<ReceivingEndKind> LocalReceivingEnds();
std::vector<ReceivingEndKind> RemoteReceivingEnds();
std::vector<ReceivingEndKind> SinkReceivingEnds();
const std::vector<ReceivingEndKind>& ReceivingEndKinds();

// The kind of `kinds` for a receiver at `site`, over `protocol`, that takes
// `expectation`; an unsupported error naming the workload, its expectation and the end
// when the end there cannot (the one place an expectation is matched to an end).
Result<const ReceivingEndKind*> ChooseReceivingEnd(const std::vector<ReceivingEndKind>& kinds, ReceiverSite site,
                                                   Protocol protocol, ReceiverExpectation expectation,
                                                   std::string_view workload);

// The figures of a datagram receiver's counts (local, or sent back by a peer).
ReceivedFigures DatagramReceivedFigures(const DatagramReceiveStats& stats, uint32_t flow_id, ReceiverMode mode);

// A random flow id for the datagram header (never 0).
uint32_t NewFlowId();

}  // namespace zcb
