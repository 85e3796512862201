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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/options.h"
#include "stack/pattern.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/types.h"
#include "stack/unique_fd.h"
#include "workloads/exchange.h"
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
  // Whether it sends server responses through SendStrategy::SendResponse (a header, then
  // a range of a file the server opened): a strategy without the capability
  // sends_responses is left out (stack/response.h).
  bool responses = false;
};

// What the receiving end is to expect, and so check. A receiving end declares the
// expectations it can check (harness/trial/receiving_end.h); the runner refuses, as
// unsupported, a trial whose workload expects one its receiving end cannot check. The
// values are bits, so that an end can declare a set of them (EnumSet).
enum class ReceiverExpectation : uint32_t {
  // The pattern stream from offset 0 (TCP), or pattern datagrams (UDP), every byte
  // verified against the seed; the count is what the sender reports it sent.
  kPatternStream = 1 << 0,
  // A request/response exchange (workloads/exchange.h): the receiver is the client, which
  // writes requests, verifies every byte of each response against the pattern stream and
  // times each transaction.
  kRequestResponse = 1 << 1,
  // A request/response exchange whose responses carry generated HTTP heads
  // (Exchange::http_headers): the client also parses and checks each head.
  kHttpResponses = 1 << 2,
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
  // The connected socket, for a workload that also reads from its peer (requests); bulk
  // leaves it to the strategy.
  int socket_fd = -1;
  double peer_timeout_s = 0;  // how long to wait for the peer before giving up (receive_timeout)
  // A new connection to the receiving end, made as the trial's was (its socket options and
  // timeouts): for a workload with a connection per request. Unset where the receiving end
  // takes one connection only.
  std::function<Result<UniqueFd>()> connect;
};

// What a workload may make before the window (file_serving's file set) is told of the trial.
struct WorkloadSetup {
  std::string file_dir;              // --file-dir: where the trial's files go (empty: tmpfs)
  const Pattern* pattern = nullptr;  // the trial's pattern: what the receiver checks bytes against
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

  // The exchange a request/response workload runs under `schedule` (its client needs it);
  // nullopt for a workload that only sends.
  virtual std::optional<Exchange> exchange(const SendSchedule& /*schedule*/) const { return std::nullopt; }

  // Before the window, on the runner's thread, once: what the workload makes for the trial
  // (files), and any set-up that must not be timed (a cold cache's drop).
  virtual Status Prepare(const WorkloadSetup& /*setup*/) { return OkStatus(); }

  // The workload's own object of the record, metrics.<workload name> (null: none): what it
  // made and how (file_serving: the file set). The runner adds the per-request figures of
  // an exchange to it (harness/trial/trial_metrics.h, WorkloadMetrics).
  virtual nlohmann::json Report() const { return nullptr; }
};

struct WorkloadInfo {
  std::string name;
  std::string summary;
  WorkloadNeeds needs;
  std::vector<OptionSpec> options;  // the workload's own options (none for bulk)
  // Makes the workload; nothing outside it (files come in Prepare): a trial is resolved by
  // making one and dropping it, so that a bad combination of options is a usage error early.
  std::function<Result<std::unique_ptr<Workload>>(const Options& options)> create;

  // The options `given` (key=value, as --workload-option and [matrix.workload_options]
  // give them) checked against `options`: a usage error names the workload, the key and
  // the valid options.
  Result<Options> ParseOptions(const std::map<std::string, std::string>& given) const;

  // Whether `strategy` can serve this workload from `source`: a protocol both speak, a
  // source both take, and SendResponse when the workload sends responses.
  bool Serves(const StrategyInfo& strategy, SourceKind source) const;
  bool Serves(const StrategyInfo& strategy, Protocol protocol, SourceKind source) const;
};

}  // namespace zcb
