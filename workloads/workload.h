#pragma once

// A workload: what the sender sends and when, and what the receiver expects. The trial
// runner (harness/trial/trial_runner.cc) finds the trial's workload in the registry
// (workloads/registry.h), creates it, and calls Send() on the sender's thread inside the
// measured window with the strategy it made; it never tests a workload's name. Each
// workload is one file (`bulk.cc`) and one entry in AllWorkloads(); see
// docs/ARCHITECTURE.md, "How to add things: a workload".

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "stack/options.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/types.h"
#include "workloads/payload_source.h"
#include "workloads/send_loop.h"

namespace zcb {

// What a workload needs of the rest of the trial: the compatibility check and the
// conformance suites read it, so that a strategy that cannot serve a workload is left out
// by its capabilities, never by name.
struct WorkloadNeeds {
  EnumSet<Protocol> protocols;      // the protocols it can run over
  std::vector<SourceKind> sources;  // the payload sources it can send from
  // Whether the receiver must know where each message ends (a response parser, a
  // request/response peer) rather than take one verified byte stream or datagram flow.
  bool message_boundaries = false;
};

// What the receiving end is to expect, and so check. A receiving end declares the
// expectations it can check (harness/trial/receiving_end.h); the runner refuses, as
// unsupported, a trial whose workload expects one its receiving end cannot check. The
// values are bits, so that an end can declare a set of them (EnumSet).
enum class ReceiverExpectation : uint32_t {
  // The pattern stream from offset 0 (TCP), or pattern datagrams (UDP), every byte
  // verified against the seed; the count is what the sender reports it sent.
  kPatternStream = 1 << 0,
};
// "pattern stream", for messages and `zcbench help WORKLOAD`.
std::string_view ToString(ReceiverExpectation expectation);

// Where a running workload's sender stands (the inputs a workload's Send() may use).
struct WorkloadSend {
  SendStrategy* strategy = nullptr;           // made for this trial's socket and payload
  PayloadSource* payload = nullptr;           // the trial's payload source
  SendSchedule schedule;                      // message size, byte or time limit, rate
  TrialClock::time_point start{};             // the window's start: the origin of pacing
  const std::atomic<bool>* cancel = nullptr;  // set when the trial is to stop early
};

class Workload {
 public:
  virtual ~Workload() = default;

  // The sender's side, on the sender's thread, inside the measured window: sends through
  // `send.strategy` and ends with its Finish(). `sends_done` gets the time the last Send()
  // returned (before Finish() waited for the last completions).
  virtual Status Send(const WorkloadSend& send, TrialClock::time_point* sends_done) = 0;

  // What the receiver expects of the bytes that arrive.
  virtual ReceiverExpectation expectation() const = 0;
};

struct WorkloadInfo {
  std::string name;
  std::string summary;
  WorkloadNeeds needs;
  std::vector<OptionSpec> options;  // the workload's own options (none for bulk)
  std::function<Result<std::unique_ptr<Workload>>(const Options& options)> create;

  // The options `given` (key=value, as --workload-option and [matrix.workload_options]
  // give them) checked against `options`: a usage error names the workload, the key and
  // the valid options.
  Result<Options> ParseOptions(const std::map<std::string, std::string>& given) const;

  // Whether `strategy` can serve this workload from `source`: a protocol both speak and a
  // source both take.
  bool Serves(const StrategyInfo& strategy, SourceKind source) const;
  bool Serves(const StrategyInfo& strategy, Protocol protocol, SourceKind source) const;
};

}  // namespace zcb
