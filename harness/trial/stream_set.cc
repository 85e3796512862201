#include "harness/trial/stream_set.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "harness/trial/trial_metrics.h"
#include "harness/trial/trial_payload.h"

namespace zcb {
namespace {

// `first` moved `by` CPUs on, wrapping at `cpus`; the first stream's exactly as given
// (a CPU that does not exist fails its pinning, naming it).
std::optional<int> Shifted(std::optional<int> first, size_t by, int cpus) {
  if (!first || by == 0) return first;
  return static_cast<int>((static_cast<size_t>(*first) + by) % static_cast<size_t>(std::max(cpus, 1)));
}

double Seconds(TrialClock::time_point from, TrialClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

double Rate(uint64_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds : 0.0; }

// `status` with its stream named, when there are several.
Status OfStream(Status status, size_t index, size_t streams) {
  if (status.ok() || streams == 1) return status;
  Error error = status.error();
  return error.Context(fmt::format("stream {}", index));
}

template <typename T>
void AddOptional(std::optional<T>& sum, const std::optional<T>& value) {
  if (value) sum = sum.value_or(T{}) + *value;
}

// The first stream's `first_*` figure: the earliest stream that has one.
template <typename T>
void KeepFirst(std::optional<T>& kept, const std::optional<T>& value) {
  if (!kept && value) kept = value;
}

void AddSendStats(SendStats& sum, const SendStats& s) {
  sum.send_calls += s.send_calls;
  sum.bytes_sent += s.bytes_sent;
  sum.datagrams += s.datagrams;
  ZeroCopyStats& z = sum.zerocopy;
  z.completions += s.zerocopy.completions;
  z.copied += s.zerocopy.copied;
  z.zerocopy += s.zerocopy.zerocopy;
  z.ranged += s.zerocopy.ranged;
  z.enobufs_retries += s.zerocopy.enobufs_retries;
  z.outstanding_at_end += s.zerocopy.outstanding_at_end;
  if (s.peer_gate) {
    if (!sum.peer_gate) sum.peer_gate = PeerGateStats{s.peer_gate->signal};
    sum.peer_gate->checks += s.peer_gate->checks;
    sum.peer_gate->waits += s.peer_gate->waits;
    sum.peer_gate->polls += s.peer_gate->polls;
    sum.peer_gate->wait_ns += s.peer_gate->wait_ns;
  }
}

void AddIntegrity(std::optional<IntegrityMetrics>& sum, const std::optional<IntegrityMetrics>& m) {
  if (!m) return;
  if (!sum) {
    sum = m;
    return;
  }
  sum->verified_bytes += m->verified_bytes;
  sum->mismatches += m->mismatches;
  KeepFirst(sum->first_mismatch_offset, m->first_mismatch_offset);
  if (m->first_mismatch_sequence && (!sum->first_mismatch_sequence || !*sum->first_mismatch_sequence))
    sum->first_mismatch_sequence = m->first_mismatch_sequence;
}

void AddDatagramStats(DatagramReceiveStats& sum, const DatagramReceiveStats& d) {
  sum.datagrams_received += d.datagrams_received;
  sum.duplicated += d.duplicated;
  sum.reordered += d.reordered;
  sum.stale += d.stale;
  sum.malformed += d.malformed;
  sum.empty += d.empty;
  sum.corrupt += d.corrupt;
  KeepFirst(sum.first_corrupt_sequence, d.first_corrupt_sequence);
  if (d.highest_sequence) sum.highest_sequence = std::max(sum.highest_sequence.value_or(0), *d.highest_sequence);
  sum.bytes_received += d.bytes_received;
  sum.unique_bytes += d.unique_bytes;
  sum.recv_calls += d.recv_calls;
  sum.coalesced_buffers += d.coalesced_buffers;
  sum.queue_drops += d.queue_drops;
  sum.queue_drops_known = sum.queue_drops_known && d.queue_drops_known;
  sum.receive_buffer_forced = sum.receive_buffer_forced || d.receive_buffer_forced;
  sum.all_arrived = sum.all_arrived && d.all_arrived;
  sum.integrity.verified_bytes += d.integrity.verified_bytes;
  sum.integrity.mismatches += d.integrity.mismatches;
  KeepFirst(sum.integrity.first_mismatch_offset, d.integrity.first_mismatch_offset);
  if (d.datagrams_received > 0) {
    const bool none_yet = sum.datagrams_received == d.datagrams_received;  // the sum had none before this
    sum.first_arrival = none_yet ? d.first_arrival : std::min(sum.first_arrival, d.first_arrival);
    sum.last_arrival = std::max(sum.last_arrival, d.last_arrival);
  }
}

// The figures of every stream's end as one: counts summed, the latest delivery, the
// first stream's socket options and thread, the first failure.
ReceivedFigures SumReceived(const std::vector<const ReceivedFigures*>& each) {
  ReceivedFigures sum = *each.front();
  if (sum.lost) sum.lost = OfStream(*sum.lost, 0, each.size()).error();
  if (!sum.run.ok()) sum.run = OfStream(sum.run, 0, each.size());
  for (size_t i = 1; i < each.size(); ++i) {
    const ReceivedFigures& r = *each[i];
    if (sum.bytes_received && r.bytes_received) {
      *sum.bytes_received += *r.bytes_received;
    } else {
      sum.bytes_received.reset();  // unknown for one stream: unknown for the trial
    }
    sum.goodput_bytes += r.goodput_bytes;
    AddOptional(sum.recv_calls, r.recv_calls);
    AddIntegrity(sum.integrity, r.integrity);
    if (sum.receive_zerocopy && r.receive_zerocopy) {
      sum.receive_zerocopy->mapped_bytes += r.receive_zerocopy->mapped_bytes;
      sum.receive_zerocopy->copied_bytes += r.receive_zerocopy->copied_bytes;
    }
    if (sum.datagrams && r.datagrams) AddDatagramStats(sum.datagrams->stats, r.datagrams->stats);
    if (sum.exchange && r.exchange) {
      sum.exchange->transactions += r.exchange->transactions;
      sum.exchange->requests_sent += r.exchange->requests_sent;
      sum.exchange->latency_ns.Merge(r.exchange->latency_ns);
    }
    sum.last_delivery = std::max(sum.last_delivery, r.last_delivery);
    AddOptional(sum.receiver_thread_s, r.receiver_thread_s);
    if (!sum.lost && r.lost) sum.lost = OfStream(*r.lost, i, each.size()).error();
    if (sum.run.ok() && !r.run.ok()) sum.run = OfStream(r.run, i, each.size());
  }
  return sum;
}

}  // namespace

std::vector<StreamCpuPins> PlaceStreams(const TrialSpec& spec, int cpus) {
  std::vector<StreamCpuPins> pins;
  for (size_t i = 0; i < static_cast<size_t>(std::max(spec.streams, 1)); ++i) {
    const size_t by = spec.stream_cpus == StreamCpus::kSpread ? i : 0;
    pins.push_back({Shifted(spec.sender_cpu, by, cpus), Shifted(spec.receiver_cpu, by, cpus)});
  }
  return pins;
}

Status CheckParallelStreams(const ReceivingEndKind& kind, int streams) {
  if (streams <= 1 || kind.streams != StreamSharing::kOneStream) return OkStatus();
  return Unsupportedf("streams={}: the {} receiving end takes one stream only: {}; run it with --streams 1", streams,
                      kind.name, kind.one_stream_reason);
}

StreamSpread SpreadOf(const std::vector<double>& values) {
  StreamSpread spread;
  if (values.empty()) return spread;
  double sum = 0, squares = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    sum += values[i];
    squares += values[i] * values[i];
    if (values[i] < values[spread.slowest]) spread.slowest = i;
  }
  spread.min = values[spread.slowest];
  spread.max = *std::max_element(values.begin(), values.end());
  spread.mean = sum / static_cast<double>(values.size());
  // At most 1 (Cauchy-Schwarz); the min keeps a rounding error from passing it.
  if (squares > 0) spread.jain = std::min(1.0, sum * sum / (static_cast<double>(values.size()) * squares));
  return spread;
}

Result<std::unique_ptr<StreamSet>> StreamSet::Create(const ResolvedTrial& trial, const ReceivingEndKind& kind,
                                                     PayloadSource& payload, Workload& workload, const Pattern& pattern,
                                                     const MakeEnd& make_end) {
  std::unique_ptr<StreamSet> set(new StreamSet(kind, trial));
  const std::vector<StreamCpuPins> pins =
      PlaceStreams(trial.spec, static_cast<int>(std::thread::hardware_concurrency()));
  for (size_t i = 0; i < pins.size(); ++i) {
    auto stream = std::make_unique<TrialStream>();
    stream->trial = trial;
    stream->trial.spec.sender_cpu = pins[i].sender;
    stream->trial.spec.receiver_cpu = pins[i].receiver;
    if (i == 0) {
      stream->payload = &payload;
      stream->workload = &workload;
    } else {
      auto own_payload = PayloadSource::Create(PayloadConfigFor(stream->trial), pattern);
      if (!own_payload.ok()) return std::move(own_payload).error().Context(fmt::format("stream {}: payload", i));
      stream->own_payload = std::move(*own_payload);
      stream->payload = stream->own_payload.get();
      auto own_workload = trial.workload->create(trial.workload_options);
      if (!own_workload.ok()) return std::move(own_workload).error().Context(fmt::format("stream {}: workload", i));
      stream->own_workload = std::move(*own_workload);
      stream->workload = stream->own_workload.get();
      // What the trial's workload made before the window (file_serving's file set), each
      // stream's own makes too: the runner prepared the first stream's.
      if (Status prepared = stream->workload->Prepare(WorkloadSetup{trial.spec.file_dir, &pattern}); !prepared.ok()) {
        return std::move(prepared).error().Context(fmt::format("stream {}: workload", i));
      }
    }
    if (i == 0 || kind.streams == StreamSharing::kEndPerStream) {
      ZCB_ASSIGN_OR_RETURN(std::unique_ptr<ReceivingEnd> end, make_end(stream->trial, *stream->workload));
      set->ends_.push_back(std::move(end));
    }
    stream->end = set->ends_.back().get();
    set->streams_.push_back(std::move(stream));
  }
  return set;
}

Status StreamSet::Prepare() {
  for (size_t i = 0; i < ends_.size(); ++i) ZCB_RETURN_IF_ERROR(OfStream(ends_[i]->Prepare(), i, ends_.size()));
  return OkStatus();
}

MeasuredWindow StreamSet::Run(const TrialContext& context, const SenderBody& sender) {
  const bool receivers_here = ends_.front()->runs_here();
  WindowGate gate(static_cast<int>(streams_.size() + (receivers_here ? ends_.size() : 0)), context.cancel);
  std::vector<std::thread> threads;
  threads.reserve(streams_.size() + ends_.size());
  if (receivers_here) {
    for (auto& end : ends_) threads.emplace_back([&gate, e = end.get()] { e->ReceiverThread(gate); });
  }
  for (auto& stream : streams_) threads.emplace_back([&gate, &sender, s = stream.get()] { sender(*s, gate); });
  std::vector<std::thread*> joined;
  for (std::thread& t : threads) joined.push_back(&t);
  return gate.Run(context, joined);
}

SenderOutcome StreamSet::Senders() const {
  const size_t n = streams_.size();
  SenderOutcome sum = first().sender;
  sum.setup = sum.run = OkStatus();
  for (size_t i = 0; i < n; ++i) {
    const SenderOutcome& s = streams_[i]->sender;
    if (sum.setup.ok() && !s.setup.ok()) sum.setup = OfStream(s.setup, i, n);
    if (sum.run.ok() && !s.run.ok()) sum.run = OfStream(s.run, i, n);
    if (i == 0) continue;  // the first stream's figures are the sum's start
    sum.cpu.thread_s += s.cpu.thread_s;
    // Each sender reads every io_uring worker of the process over its own run: the
    // largest reading, not their sum, which would count the workers once per stream.
    sum.cpu.io_workers_s = std::max(sum.cpu.io_workers_s, s.cpu.io_workers_s);
    sum.cpu.io_workers = std::max(sum.cpu.io_workers, s.cpu.io_workers);
    sum.cpu.io_workers_gone = std::max(sum.cpu.io_workers_gone, s.cpu.io_workers_gone);
    AddSendStats(sum.stats, s.stats);
    sum.sends_done = std::max(sum.sends_done, s.sends_done);
    sum.end = std::max(sum.end, s.end);
  }
  return sum;
}

Status StreamSet::ReceiverSetup() const {
  for (size_t i = 0; i < ends_.size(); ++i) ZCB_RETURN_IF_ERROR(OfStream(ends_[i]->receiver_setup(), i, ends_.size()));
  return OkStatus();
}

ReceivedFigures StreamSet::Collect(const MeasuredWindow& window) {
  const size_t n = streams_.size();
  failures_.assign(n, std::nullopt);
  if (kind_.streams == StreamSharing::kOneEndForAll) {
    // One end for every stream: it counted them together, against all they sent.
    const SenderOutcome senders = Senders();
    shared_ = ends_.front()->Collect(senders, window);
    for (size_t i = 0; i < n; ++i) {
      if (!streams_[i]->sender.run.ok()) failures_[i] = streams_[i]->sender.run.error();
    }
    return *shared_;
  }
  std::vector<const ReceivedFigures*> each;
  for (size_t i = 0; i < n; ++i) {
    TrialStream& s = *streams_[i];
    s.received = s.end->Collect(s.sender, window);
    each.push_back(&s.received);
    Status judged = JudgeTrial(s.trial, s.sender, s.received, s.end->name());
    if (!judged.ok()) failures_[i] = judged.error();
  }
  return SumReceived(each);
}

Status StreamSet::Judge() const {
  // One end for all: what it lost or found first, then the first sender that failed.
  if (shared_) return JudgeTrial(trial_, Senders(), *shared_, ends_.front()->name());
  const size_t n = streams_.size();
  for (size_t i = 0; i < n; ++i) {
    if (failures_[i]) return OfStream(*failures_[i], i, n);
  }
  return OkStatus();
}

std::optional<StreamsMetrics> StreamSet::Metrics(const MeasuredWindow& window) const {
  if (streams_.size() <= 1) return std::nullopt;
  StreamsMetrics m;
  const bool per_stream = !shared_;
  std::vector<double> goodputs;
  for (size_t i = 0; i < streams_.size(); ++i) {
    const TrialStream& s = *streams_[i];
    StreamMetrics stream;
    stream.index = static_cast<int64_t>(i);
    if (s.trial.spec.sender_cpu) stream.sender_cpu = *s.trial.spec.sender_cpu;
    stream.sender_tid = s.sender.tid;
    stream.bytes_sent = s.sender.stats.bytes_sent;
    stream.send_calls = s.sender.stats.send_calls;
    stream.sender_thread_s = s.sender.cpu.thread_s;
    stream.sender_rate_bps = Rate(s.sender.stats.bytes_sent, Seconds(window.start, s.sender.sends_done));
    if (s.trial.spec.protocol == Protocol::kUdp) stream.datagrams_sent = s.sender.stats.datagrams;
    if (per_stream) {
      const ReceivedFigures& r = s.received;
      if (s.end->runs_here()) {
        if (s.trial.spec.receiver_cpu) stream.receiver_cpu = *s.trial.spec.receiver_cpu;
        stream.receiver_tid = r.receiver_tid;
      }
      stream.bytes_received = r.bytes_received;
      stream.elapsed_s = Seconds(window.start, r.last_delivery);
      stream.goodput_bps = Rate(r.goodput_bytes, *stream.elapsed_s);
      goodputs.push_back(*stream.goodput_bps);
      stream.recv_calls = r.recv_calls;
      stream.receiver_thread_s = r.receiver_thread_s;
      stream.integrity = r.integrity;
      if (r.datagrams) {
        stream.datagrams_received = r.datagrams->stats.datagrams_received;
        stream.flow_id = r.datagrams->flow_id;
      }
      if (r.exchange) stream.transactions = r.exchange->transactions;
    } else {
      stream.receiver_reason =
          fmt::format("the {} counts every stream together: this stream's own delivery is not known", kind_.name);
    }
    if (failures_[i]) stream.error = failures_[i]->ToString();
    m.per_stream.push_back(std::move(stream));
  }
  if (per_stream) {
    const StreamSpread spread = SpreadOf(goodputs);
    m.goodput_min_bps = spread.min;
    m.goodput_max_bps = spread.max;
    m.goodput_mean_bps = spread.mean;
    m.slowest_stream = static_cast<int64_t>(spread.slowest);
    m.fairness_jain = spread.jain;
    if (!spread.jain) m.spread_reason = "no stream delivered anything: Jain's index is 0/0";
    m.source =
        "each stream's own receiver: its goodput bytes (as metrics.goodput_bps counts them) from the window's start "
        "to its own last delivery; the CPUs are the pins (--stream-cpus), the thread CPU times "
        "CLOCK_THREAD_CPUTIME_ID";
  } else {
    m.spread_reason = fmt::format(
        "the {} counts every stream together: no per-stream goodput (each stream's sender_rate_bps is known)",
        kind_.name);
    m.source =
        "each stream's sender (bytes accepted by its socket, to its last send's return); the receiving figures are "
        "the trial's only";
  }
  return m;
}

}  // namespace zcb
