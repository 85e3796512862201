#include "harness/trial/trial_metrics.h"

#include <chrono>

#include <fmt/format.h>

#include "harness/probes/cpu_accounting.h"
#include "harness/trial/trial_payload.h"

namespace zcb {
namespace {

double Rate(uint64_t bytes, double seconds) { return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds : 0.0; }

double Seconds(TrialClock::time_point from, TrialClock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// metrics.udp. The sender's rate counts until its last send returned, not its wait for
// completions; `cpu` is the window's before the probes complete it.
UdpMetrics DatagramMetrics(const ResolvedTrial& trial, const SenderOutcome& sender, const DatagramFigures& datagrams,
                           double elapsed, const MeasuredWindow& window, const nlohmann::json& cpu) {
  const DatagramReceiveStats& rx = datagrams.stats;
  const uint64_t sent = sender.stats.datagrams;
  const uint64_t bytes_sent = sender.stats.bytes_sent;
  const double sender_elapsed = Seconds(window.start, sender.sends_done);
  const double kib_sent = static_cast<double>(bytes_sent) / 1024.0;
  const bool verify = trial.spec.receiver == ReceiverMode::kVerify;
  UdpMetrics u;
  u.datagrams_sent = sent;
  u.datagrams_received = rx.datagrams_received;
  u.lost = sent > rx.datagrams_received ? sent - rx.datagrams_received : 0;
  u.duplicated = rx.duplicated;
  u.reordered = rx.reordered;
  u.stale = rx.stale;
  u.malformed = rx.malformed;
  u.empty = rx.empty;
  u.corrupt = rx.corrupt;
  u.loss_ratio = sent > 0 ? static_cast<double>(u.lost) / static_cast<double>(sent) : 0.0;
  u.sender_rate_bps = Rate(bytes_sent, sender_elapsed);
  u.receiver_rate_bps = Rate(rx.unique_bytes, elapsed);
  u.sender_elapsed_s = sender_elapsed;
  u.mean_datagram_bytes = sent > 0 ? static_cast<double>(bytes_sent) / static_cast<double>(sent) : 0.0;
  u.bytes_arrived = rx.bytes_received;
  u.goodput_counts =
      verify ? "verified datagrams (first copies; UDP payload with the 16-byte zcbench header)"
             : "datagrams received, not checked (first copies; UDP payload with the 16-byte zcbench header)";
  u.flow_id = datagrams.flow_id;
  u.gro = trial.spec.gro;
  u.coalesced_buffers = rx.coalesced_buffers;
  if (rx.queue_drops_known) u.receive_queue_drops = rx.queue_drops;
  u.receive_buffer_bytes = rx.receive_buffer_bytes;
  u.receive_buffer_forced = rx.receive_buffer_forced;
  u.end = rx.all_arrived ? "every datagram sent arrived"
                         : fmt::format("no datagram for the {} s drain", trial.spec.drain_s);
  if (datagrams.sink) {
    // No receiver: what "arrived" is what the sink counted where it dropped the packets.
    u.sink = datagrams.sink;
    u.goodput_counts =
        "UDP payload bytes the sink counted where it dropped them (no receiver: nothing verified; the "
        "16-byte zcbench header included)";
    u.end = rx.all_arrived ? "the sink counted every datagram sent"
                           : fmt::format("the sink counted {} of the {} datagrams sent within the {} s drain",
                                         rx.datagrams_received, sent, trial.spec.drain_s);
  }
  if (cpu["system_wide"].is_object() && kib_sent > 0)
    u.busy_ns_per_kib_sent = cpu["system_wide"]["busy_s"].get<double>() * 1e9 / kib_sent;
  if (kib_sent > 0) u.sender_thread_ns_per_kib_sent = sender.cpu.thread_s * 1e9 / kib_sent;
  return u;
}

// metrics.request_response, from the client's figures; `cpu` is the trial's, completed
// (cpu.trial_s: the trial's threads and the softirq work outside them, as cpu.ns_per_kib).
RequestResponseMetrics ExchangeMetrics(const ResolvedTrial& trial, const ExchangeFigures& x, double elapsed,
                                       const nlohmann::json& cpu) {
  RequestResponseMetrics r;
  r.transactions = x.transactions;
  r.corrupted_responses = x.corrupted_responses;
  r.transactions_per_s = elapsed > 0 ? static_cast<double>(x.transactions) / elapsed : 0.0;
  const LatencyHistogram& h = x.latency_ns;
  const auto us = [](double ns) { return ns / 1000.0; };
  const auto at = [&](double q) { return us(static_cast<double>(h.ValueAtQuantile(q))); };
  if (h.count() > 0) {
    r.latency_us = LatencySummary{at(0.5),
                                  at(0.9),
                                  at(0.99),
                                  at(0.999),
                                  us(h.mean()),
                                  us(static_cast<double>(h.min())),
                                  us(static_cast<double>(h.max()))};
  } else {
    r.latency_us_reason = "no transaction completed";
  }
  r.latency_source =
      "the client's CLOCK_MONOTONIC, from just before a request is written to the last byte of its response read; "
      "percentiles from a log-linear histogram (the relative error below), mean, min and max exact";
  r.histogram_relative_error = LatencyHistogram::kRelativeError;
  r.histogram_ns = h.NonEmptyBuckets();
  if (x.transactions == 0) {
    r.cpu_ns_per_transaction_reason = "no transaction completed";
  } else if (cpu.contains("trial_s") && cpu["trial_s"].is_number()) {
    r.cpu_ns_per_transaction = cpu["trial_s"].get<double>() * 1e9 / static_cast<double>(x.transactions);
  } else {
    r.cpu_ns_per_transaction_reason = "the trial's CPU time (cpu.trial_s) was not measured";
  }
  r.completion_latency_reason =
      trial.strategy->caps.lends_buffers
          ? "not measured: the strategies read their completions lazily (msg_zerocopy drains its error queue once "
            "enough "
            "sends are in flight, io_uring_send_zc reaps notifications at later submissions), so a time taken when the "
            "strategy reads one measures its reaping schedule, not when the kernel gave the buffer back; that needs a "
            "time stamp as the notification is queued, which nothing takes yet (metrics.zerocopy has the counts)"
          : "the strategy lends no buffers: a response's buffer is the sender's again when the send call returns";
  return r;
}

// What the probes are told about a window (the memory model needs the strategy's
// capabilities and completion counts, never its name).
WindowSummary SummarizeWindow(const ResolvedTrial& trial, double elapsed_s, uint64_t bytes_received,
                              const SenderOutcome& sender, const ReceivedFigures& received) {
  WindowSummary summary{elapsed_s, sender.stats.bytes_sent, bytes_received, sender.tid, received.receiver_tid};
  summary.protocol = trial.spec.protocol;
  summary.source = trial.source;
  summary.receiver_mode = trial.spec.receiver;
  summary.caps = trial.strategy->caps;
  summary.zerocopy = sender.stats.zerocopy;
  summary.receiver_local = received.receiver_on_this_host;
  return summary;
}

// True when the trial asked to rewrite lent buffers early (unsafe_reuse): corruption the
// receiver finds is then the expected result, recorded, not a failed trial.
bool BreaksReuseRuleOnPurpose(const ResolvedTrial& trial) {
  return trial.strategy->caps.supports_unsafe_reuse && trial.options.GetBool("unsafe_reuse");
}

Status JudgeStream(const ResolvedTrial& trial, const SenderOutcome& sender, const ReceivedFigures& received,
                   const char* receiver_name) {
  const uint64_t got = received.bytes_received.value_or(0);
  if (got != sender.stats.bytes_sent)
    return Errorf("{} got {} of the {} bytes sent", receiver_name, got, sender.stats.bytes_sent);
  if (received.integrity && received.integrity->mismatches > 0 && !BreaksReuseRuleOnPurpose(trial)) {
    const auto& first = received.integrity->first_mismatch_offset;
    return Errorf("integrity: {} bytes differ from the pattern, the first at stream offset {}",
                  received.integrity->mismatches, first ? std::to_string(*first) : "unknown");
  }
  return OkStatus();
}

Status JudgeDatagrams(const ResolvedTrial& trial, const SenderOutcome& sender, const DatagramFigures& datagrams) {
  const DatagramReceiveStats& rx = datagrams.stats;
  const uint64_t sent = sender.stats.datagrams;
  if (!BreaksReuseRuleOnPurpose(trial)) {
    if (rx.malformed > 0) {
      return Errorf(
          "integrity: {} datagrams did not carry this flow's header (flow id {:#x}) or had a length other than their "
          "header says",
          rx.malformed, datagrams.flow_id);
    }
    if (rx.integrity.mismatches > 0) {
      return Errorf("integrity: {} datagrams differ from the pattern ({} bytes), the first is datagram {} from byte {}",
                    rx.corrupt, rx.integrity.mismatches, rx.first_corrupt_sequence.value_or(0),
                    rx.integrity.first_mismatch_offset.value_or(0));
    }
  }
  if (rx.highest_sequence && *rx.highest_sequence >= sent) {
    return Errorf("integrity: a datagram carried sequence number {}, but only {} were sent", *rx.highest_sequence,
                  sent);
  }
  if (sent > 0 && rx.datagrams_received == 0) {
    return Errorf(
        "none of the {} datagrams sent arrived (the receiving kernel dropped them all: check its UDP counters, e.g. "
        "nstat -az Udp*)",
        sent);
  }
  return OkStatus();
}

}  // namespace

TrialMetrics BuildMetrics(const ResolvedTrial& trial, const TrialContext& context, const SenderOutcome& sender,
                          const ReceivedFigures& received, const MeasuredWindow& window, const PayloadSource& payload) {
  const double elapsed = Seconds(window.start, received.last_delivery);
  const uint64_t delivered = received.bytes_received.value_or(0);
  TrialMetrics m;
  m.bytes_sent = sender.stats.bytes_sent;
  m.bytes_received = received.bytes_received;
  m.elapsed_s = elapsed;
  m.goodput_bps = Rate(received.goodput_bytes, elapsed);
  m.send_calls = sender.stats.send_calls;
  m.recv_calls = received.recv_calls;
  m.integrity = received.integrity;
  m.integrity_reason = received.integrity_reason;
  m.receive_zerocopy = received.receive_zerocopy;

  TrialCpuParts parts;
  parts.sender_thread_s = sender.cpu.thread_s;
  parts.sender = sender.cpu;
  parts.receiver_thread_s = received.receiver_thread_s;
  parts.receiver_on_this_host = received.receiver_on_this_host;
  parts.omits = received.cpu_omits;
  nlohmann::json cpu = window.CpuJson(parts, delivered);
  // System-wide figures are this (the sender's) host's; a remote receiver's host's own:
  if (received.remote) cpu["receiver_host"] = received.receiver_host_cpu;
  m.payload = PayloadJson(trial, payload, window, sender.stats.bytes_sent);
  if (trial.strategy->caps.reports_zerocopy) m.zerocopy = ZeroCopyMetrics::Of(sender.stats.zerocopy);
  if (received.datagrams) {
    m.udp = DatagramMetrics(trial, sender, *received.datagrams, elapsed, window, cpu);
  } else {
    m.reuse_gate = ReuseGateMetrics::Of(sender.stats.peer_gate);
  }
  m.remote = received.remote;

  // Every probe adds its results; the trial's CPU figure then adds the softirq work the
  // softirq_time probe found (FinishTrialCpu).
  nlohmann::json probed = {{"cpu", std::move(cpu)}};
  const WindowSummary summary = SummarizeWindow(trial, elapsed, delivered, sender, received);
  for (WindowProbe* probe : context.probes) probe->Report(summary, probed);
  if (!window.probe_errors.empty()) probed["probe_errors"] = window.probe_errors;
  FinishTrialCpu(probed, delivered);
  m.cpu = std::move(probed["cpu"]);
  probed.erase("cpu");
  if (received.exchange) m.request_response = ExchangeMetrics(trial, *received.exchange, elapsed, m.cpu);
  m.probe_results = std::move(probed);
  return m;
}

nlohmann::json WorkloadMetrics(nlohmann::json report, const TrialMetrics& m) {
  if (!m.request_response) return report;
  const uint64_t requests = m.request_response->transactions;
  const double bytes = static_cast<double>(m.bytes_received.value_or(0));
  report["requests"] = requests;
  report["requests_per_s"] = m.request_response->transactions_per_s;
  report["bytes_per_s"] = m.goodput_bps / 8;
  if (m.request_response->corrupted_responses) report["corrupted_responses"] = *m.request_response->corrupted_responses;
  report["source"] =
      "requests: responses the client read whole and verified; requests_per_s over the window's start to the last "
      "response (metrics.request_response.transactions_per_s); bytes_per_s is goodput_bps / 8; cpu per request and "
      "per KiB from cpu.trial_s (the trial's threads and the softirq work outside them); probes per request from "
      "probes.per_gib (system-wide eBPF counts) times the GiB received, per request";
  const char* none = "no request completed";
  const bool cpu_known = m.cpu.is_object() && m.cpu.contains("trial_s") && m.cpu["trial_s"].is_number();
  const double cpu_ns = cpu_known ? m.cpu["trial_s"].get<double>() * 1e9 : 0;
  const auto per = [&](const char* name, double count, const char* missing) {
    if (missing != nullptr) {
      report[name] = nullptr;
      report[std::string(name) + "_reason"] = missing;
    } else {
      report[name] = cpu_ns / count;
    }
  };
  const char* cpu_missing = !cpu_known ? "the trial's CPU time (cpu.trial_s) was not measured" : nullptr;
  per("cpu_ns_per_request", static_cast<double>(requests), requests == 0 ? none : cpu_missing);
  per("cpu_ns_per_kib", bytes / 1024, bytes == 0 ? "no byte was received" : cpu_missing);

  const nlohmann::json per_gib = m.probe_results.contains("probes") && m.probe_results["probes"].is_object()
                                     ? m.probe_results["probes"].value("per_gib", nlohmann::json(nullptr))
                                     : nlohmann::json(nullptr);
  if (requests == 0 || !per_gib.is_object()) {
    report["probes_per_request"] = nullptr;
    report["probes_per_request_reason"] =
        requests == 0 ? none : "the eBPF probes did not run or counted nothing (metrics.probes.per_gib is null)";
  } else {
    const double gib_per_request = bytes / (1024.0 * 1024.0 * 1024.0) / static_cast<double>(requests);
    nlohmann::json counts = nlohmann::json::object();
    for (const auto& [name, value] : per_gib.items()) {
      counts[name] =
          value.is_number() ? nlohmann::json(value.get<double>() * gib_per_request) : nlohmann::json(nullptr);
    }
    report["probes_per_request"] = std::move(counts);
  }
  return report;
}

Status JudgeTrial(const ResolvedTrial& trial, const SenderOutcome& sender, const ReceivedFigures& received,
                  const char* receiver_name) {
  if (received.lost) return *received.lost;
  if (!sender.run.ok() && !received.run.ok()) {
    // Both sides say what they saw: a sender that gave up on a peer that stopped reading
    // names what it waited for, the receiver why it stopped (or what the sender's reset
    // did to it).
    const Error& first = sender.run.error();
    return Error(first.errno_value() != 0 ? first.errno_value() : received.run.error().errno_value(),
                 fmt::format("{}; {}", first.ToString(), received.run.error().ToString()), first.kind());
  }
  if (!sender.run.ok()) return sender.run.error();
  if (!received.run.ok()) return received.run.error();
  if (received.datagrams) return JudgeDatagrams(trial, sender, *received.datagrams);
  return JudgeStream(trial, sender, received, receiver_name);
}

}  // namespace zcb
