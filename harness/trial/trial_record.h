#pragma once

// One trial's record, typed: what a trial writes to trials.jsonl (the zcbench.trial
// schema, results/schema/trial.schema.json, described in results/README.md). Every flow
// fills a TrialRecord; ToJson() is the only place its JSON is written and FromJson() the
// only place it is read back (resume), so that a field is named in one place.
//
// Members some records leave out and others write as null are
// std::optional<std::optional<T>>: the outer "is the key there", the inner "null or a
// value". The objects the probes, the CPU accounting and the payload add to metrics stay
// JSON: those parts are theirs to shape.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "drivers/network_path.h"
#include "stack/result.h"
#include "stack/send_strategy.h"
#include "stack/stream_receiver.h"
#include "stack/types.h"

namespace zcb {

// The record schema this harness writes. Version 2: cpu.ns_per_kib is the trial's own
// CPU (thread clocks plus softirq work outside them); version 1's system-wide /proc/stat
// figure moved to cpu.system_wide.
inline constexpr const char* kTrialSchema = "zcbench.trial/2";

struct ResolvedTrial;  // harness/trial/trial.h
struct TrialContext;

enum class TrialStatus { kOk, kError, kUnsupported };
std::string_view ToString(TrialStatus status);

// params.receiver_settings: how a TCP receiver reads (StreamReceiver::SettingsFor).
struct ReceiverSettingsParams {
  uint64_t recv_bytes = 0;
  int64_t rcvlowat = 1;
  std::optional<std::string> rcvlowat_reason;  // absent when low-water is as the mode wants
  // How the receiver waits for bytes: "poll" (poll(POLLIN), then a non-blocking recv) or
  // "recv" (a blocking recv); absent in records written before it was recorded.
  std::optional<std::string> wait;
};

// params.udp: the UDP receiver's settings that change what is measured.
struct UdpParams {
  bool gro = false;
  double drain_s = 0.5;
};

// The record's params: what was asked for, as resolved (TrialParams::Of).
struct TrialParams {
  Protocol protocol = Protocol::kTcp;
  std::string strategy;
  std::string path;
  std::optional<std::string> path_name;  // the plan's name of the path (a [path.NAME]); absent outside a plan
  std::string workload;
  SourceKind source = SourceKind::kMemory;
  uint64_t message_size = 0;
  ReceiverMode receiver = ReceiverMode::kVerify;
  std::optional<double> duration_s;
  std::optional<uint64_t> bytes;
  std::optional<int64_t> sender_cpu, receiver_cpu;
  uint64_t seed = 0;
  uint64_t rate_bps = 0;
  uint64_t pattern_period = 0;
  std::optional<uint64_t> working_set;
  std::optional<std::string> page_cache;  // "warm" | "cold" for the file source, else null
  std::optional<std::string> file_dir;
  std::map<std::string, std::string> options;        // as given
  std::map<std::string, std::string> option_values;  // every option, defaults included
  std::map<std::string, std::string> path_options;
  std::map<std::string, std::string> workload_options;        // as given
  std::map<std::string, std::string> workload_option_values;  // every option of the workload, defaults included
  nlohmann::json constraints;                                 // HostConstraintSpec::ToJson
  std::optional<UdpParams> udp;                               // UDP trials
  std::optional<ReceiverSettingsParams> receiver_settings;    // TCP trials
  // The sending socket's congestion control, read back once it was connected (TCP):
  // absent before, null when no socket was made, TcpCongestionJson otherwise.
  std::optional<nlohmann::json> tcp_congestion;
  // The socket options asked for and what each socket got, read back with getsockopt
  // ({key: {asked, applied, socket, option, source}}; SocketOptionsJson): {} for none.
  nlohmann::json socket_options = nlohmann::json::object();
  // net.core.optmem_max for the trial (OptmemMaxJson): the sender's namespace once it was
  // set up, else this process's before the trial.
  nlohmann::json optmem_max;
  // The sibling threads (SiblingThreads::ToJson, harness/trial/sibling_threads.h): as asked
  // until they were placed and started, then their CPUs; absent in older records.
  nlohmann::json siblings;
  // Parallel streams (--streams, --stream-cpus): written only when more than one, so that
  // a one-stream record is as before.
  std::optional<int64_t> streams;
  std::optional<std::string> stream_cpus;
  // A peer's trial (harness/peers/): the series label of the tool that ran instead of a
  // zcbench strategy ("iperf3 -Z (peer)"); absent for zcbench's own strategies.
  std::optional<std::string> peer;

  // The params of `trial` (a receiver on another host may wait for low-water: this
  // sender's reuse gate asks TCP, not the receiver; so it is told by the path's capability).
  static TrialParams Of(const ResolvedTrial& trial);
  nlohmann::json ToJson() const;
};

// metrics.integrity: what the receiver checked against the pattern.
struct IntegrityMetrics {
  std::string mode;
  uint64_t verified_bytes = 0;
  uint64_t mismatches = 0;
  std::optional<uint64_t> first_mismatch_offset;  // streams: the stream offset; datagrams: the byte within the datagram
  // Datagrams only: the sequence number of the first corrupt datagram (absent for streams).
  std::optional<std::optional<uint64_t>> first_mismatch_sequence;

  static IntegrityMetrics Of(const IntegrityStats& stats);
  nlohmann::json ToJson() const;
  // Also reads a remote receiver's result; errors name the field under `where`.
  static Result<IntegrityMetrics> FromJson(const nlohmann::json& json, const std::string& where);
};

// metrics.receive_zerocopy (TCP_ZEROCOPY_RECEIVE only).
struct ReceiveZeroCopyMetrics {
  uint64_t mapped_bytes = 0;
  uint64_t copied_bytes = 0;
};

// metrics.zerocopy: the sender's completion counts (stack/zerocopy_completions.h).
struct ZeroCopyMetrics {
  uint64_t completions = 0, copied = 0, zerocopy = 0, ranged_sends = 0;
  bool split_approximate = false;
  uint64_t enobufs_retries = 0, outstanding_at_end = 0;

  static ZeroCopyMetrics Of(const ZeroCopyStats& stats);
  nlohmann::json ToJson() const;
};

// metrics.zerocopy as ZeroCopyMetrics writes it.
nlohmann::json ZeroCopyJson(const ZeroCopyStats& stats);

// metrics.reuse_gate: how the sender waited for the peer before rewriting lent pages.
struct ReuseGateMetrics {
  std::string signal;
  uint64_t checks = 0, waits = 0;
  double wait_s = 0;

  // Null (nullopt) for a strategy without a peer gate.
  static std::optional<ReuseGateMetrics> Of(const std::optional<PeerGateStats>& gate);
};

// metrics.remote: the peer that received (--path remote).
struct RemoteMetrics {
  std::string peer;
  std::optional<double> receive_s;  // the receiver's first to last byte, by its clock
  nlohmann::json host;              // remote::HostIdentity of the peer (null: its result was lost)
};

// metrics.udp: the datagram counts (stack/datagram_receiver.h says what each means).
struct UdpMetrics {
  uint64_t datagrams_sent = 0, datagrams_received = 0, lost = 0, duplicated = 0, reordered = 0, stale = 0,
           malformed = 0, empty = 0, corrupt = 0;
  double loss_ratio = 0, sender_rate_bps = 0, receiver_rate_bps = 0, sender_elapsed_s = 0, mean_datagram_bytes = 0;
  uint64_t bytes_arrived = 0;
  std::string goodput_counts;
  uint64_t flow_id = 0;
  bool gro = false;
  uint64_t coalesced_buffers = 0;
  std::optional<uint64_t> receive_queue_drops;
  uint64_t receive_buffer_bytes = 0;
  bool receive_buffer_forced = false;
  std::string end;
  std::optional<double> busy_ns_per_kib_sent, sender_thread_ns_per_kib_sent;
  // Over a path without a receiver: what its sink counted during the trial (the
  // receiver's counts above are made from it).
  std::optional<SinkCounts> sink;
};

// metrics.request_response: the client's count and timing of a request/response exchange
// (workloads/exchange.h, harness/trial/local_exchange_end.cc).
struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, mean = 0, min = 0, max = 0;  // microseconds
};
struct RequestResponseMetrics {
  uint64_t transactions = 0;
  double transactions_per_s = 0;             // transactions over the window's start to the last response
  std::optional<LatencySummary> latency_us;  // null: no transaction completed
  std::optional<std::string> latency_us_reason;
  std::string latency_source;
  // The latency histogram, compact: its non-empty buckets as (highest ns of the bucket,
  // count), and the bound on a value read back from it relative to the value recorded.
  double histogram_relative_error = 0;
  std::vector<std::pair<uint64_t, uint64_t>> histogram_ns;
  std::optional<double> cpu_ns_per_transaction;  // cpu.trial_s per transaction
  std::optional<std::string> cpu_ns_per_transaction_reason;
  // The time from a response's send to its zero-copy completion: not measured (null), with
  // the reason, which says whether the strategy lends buffers at all.
  std::string completion_latency_reason;
  // Responses with generated HTTP heads (http_response): those the client found with a
  // head or body other than expected (absent for other exchanges).
  std::optional<uint64_t> corrupted_responses;
};

// metrics.streams[i] (--streams N > 1): one stream's figures (harness/trial/stream_set.h).
struct StreamMetrics {
  int64_t index = 0;
  std::optional<int64_t> sender_cpu, receiver_cpu;  // the CPU each thread was pinned to (null: not pinned)
  int64_t sender_tid = 0;
  std::optional<int64_t> receiver_tid;  // null: no receiver thread of its own here
  uint64_t bytes_sent = 0, send_calls = 0;
  double sender_thread_s = 0;  // the sender thread's CPU (CLOCK_THREAD_CPUTIME_ID)
  double sender_rate_bps = 0;  // bytes_sent from the window's start to its last send's return
  // What its own receiver counted (null: one end counted every stream together, a sink).
  std::optional<uint64_t> bytes_received;
  std::optional<double> goodput_bps, elapsed_s;  // its goodput bytes to its own last delivery
  std::optional<uint64_t> recv_calls;
  std::optional<double> receiver_thread_s;
  std::optional<IntegrityMetrics> integrity;
  std::optional<std::string> receiver_reason;                           // why the receiving figures are null
  std::optional<uint64_t> datagrams_sent, datagrams_received, flow_id;  // UDP
  std::optional<uint64_t> transactions;                                 // request/response
  std::optional<std::string> error;  // this stream's own failure (null: it delivered and verified)
};

// metrics.streams: every stream, and the spread of their goodput (the slowest visible).
struct StreamsMetrics {
  std::vector<StreamMetrics> per_stream;
  // Over the streams' goodput_bps; null, with the reason, where no stream has its own.
  std::optional<double> goodput_min_bps, goodput_max_bps, goodput_mean_bps, fairness_jain;
  std::optional<int64_t> slowest_stream;
  std::optional<std::string> spread_reason;
  std::string source;  // where the per-stream figures come from
};

inline constexpr std::string_view kIntegrityNotVerified = "not verified by zcbench";

struct TrialMetrics {
  uint64_t bytes_sent = 0;
  std::optional<uint64_t> bytes_received;  // null: a remote receiver's result was lost
  double elapsed_s = 0;
  double goodput_bps = 0;
  uint64_t send_calls = 0;
  std::optional<uint64_t> recv_calls;
  std::optional<IntegrityMetrics> integrity;
  std::optional<std::string> integrity_reason;  // why integrity is null, when nothing could check it
  // A peer's trial: its bytes were received by the peer's own program, which zcbench does
  // not check; `integrity` is then written as the string kIntegrityNotVerified.
  bool integrity_not_verified = false;
  std::optional<ReceiveZeroCopyMetrics> receive_zerocopy;
  nlohmann::json cpu;                       // CpuRecord, completed by FinishTrialCpu (harness/probes/cpu_accounting.h)
  nlohmann::json payload;                   // PayloadJson (harness/trial/trial_payload.h)
  std::optional<ZeroCopyMetrics> zerocopy;  // null: the strategy reports no completions
  std::optional<std::optional<ReuseGateMetrics>> reuse_gate;  // stream trials
  std::optional<UdpMetrics> udp;
  std::optional<RemoteMetrics> remote;
  std::optional<RequestResponseMetrics> request_response;  // request/response workloads
  std::optional<StreamsMetrics> streams;                   // --streams N > 1
  // Every other member of metrics, as the probes wrote it (probes, counters, memory,
  // copies, cpu_profile, their *_reason, probe_errors), and a workload's own object
  // (metrics.<workload>: Workload::Report with WorkloadMetrics, e.g. file_serving).
  nlohmann::json probe_results = nlohmann::json::object();

  nlohmann::json ToJson() const;
};

struct TrialRecord {
  std::string schema = kTrialSchema;
  std::string run_id;
  int64_t trial = 0;
  int64_t repetition = 0;
  bool warmup = false;
  TrialParams params;
  std::string point;  // PointKey (harness/plan/parameters.h)
  std::string started_at;
  TrialStatus status = TrialStatus::kOk;
  std::optional<std::string> error;
  std::optional<TrialMetrics> metrics;        // null until the window was measured
  std::optional<nlohmann::json> path;         // NetworkPath::Describe, once the path existed
  std::optional<nlohmann::json> constraints;  // HostConstraints::Report, when there were any
  // The scheduler's verdict (experiment_run.h), on records written by a run: absent on
  // the record a trial returns.
  struct Verdict {
    std::optional<bool> converged;
    nlohmann::json convergence;  // null for warm-ups
  };
  std::optional<Verdict> verdict;

  // A failure ends the trial: its kind decides the status (unsupported, or error).
  void Fail(const Error& error);

  nlohmann::json ToJson() const;
  // Reads a record this version wrote. Errors name the field ("metrics.udp.lost: ...").
  static Result<TrialRecord> FromJson(const nlohmann::json& json);
};

// A record as every trial starts it: identity, params, point, status ok, no metrics
// yet; params.path_name from the context.
TrialRecord NewTrialRecord(const ResolvedTrial& trial, const TrialContext& context);

// For nlohmann::json's conversions: `nlohmann::json j = record;`.
void to_json(nlohmann::json& json, const TrialRecord& record);

std::string NowIso8601();

}  // namespace zcb
