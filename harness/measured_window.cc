#include "harness/measured_window.h"

#include <algorithm>
#include <thread>

#include "harness/trial_common.h"

namespace zcb {
namespace {

std::optional<CpuSnapshot> ReadCpu() {
  auto snapshot = CpuSnapshot::Read();
  if (!snapshot.ok()) return std::nullopt;
  return std::move(*snapshot);
}

}  // namespace

nlohmann::json MeasuredWindow::CpuJson(double sender_thread_s, double receiver_thread_s, uint64_t bytes_delivered) const {
  if (!cpu_before || !cpu_after) return nullptr;
  return CpuRecord(*cpu_before, *cpu_after, sender_thread_s, receiver_thread_s, bytes_delivered);
}

MeasuredWindow RunMeasuredWindow(const TrialContext& context, bool measure,
                                 const std::function<void(TrialClock::time_point)>& release,
                                 const std::function<void()>& join) {
  MeasuredWindow window;
  if (measure) {
    for (WindowProbe* probe : context.probes) {
      if (auto s = probe->Begin(); !s.ok()) window.probe_errors.push_back(s.error().ToString());
    }
  }
  window.cpu_before = ReadCpu();
  window.start = TrialClock::now();
  release(window.start);
  join();
  window.end = TrialClock::now();
  if (measure) {
    for (WindowProbe* probe : context.probes) {
      if (auto s = probe->End(); !s.ok()) window.probe_errors.push_back(s.error().ToString());
    }
  }
  window.cpu_after = ReadCpu();
  return window;
}

Status SendPaced(SendStrategy& strategy, const TrialSpec& spec, TrialClock::time_point start,
                 const std::atomic<bool>* cancel, TrialClock::time_point* sends_done) {
  const uint64_t total = spec.bytes.value_or(UINT64_MAX);
  const TrialClock::time_point deadline =
      spec.duration_s ? start + std::chrono::duration_cast<TrialClock::duration>(std::chrono::duration<double>(*spec.duration_s))
                      : TrialClock::time_point::max();
  const double ns_per_byte = spec.rate_bps > 0 ? 8e9 / static_cast<double>(spec.rate_bps) : 0;
  // Unpaced, the clock is read once per 64 KiB sent, not per message: for small messages
  // a read per message is a visible share of the sender's CPU that no peer pays.
  const uint64_t clock_every = ns_per_byte > 0 ? 1 : 64 * 1024;
  uint64_t offset = 0;
  uint64_t next_clock = 0;
  while (offset < total) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(spec.message_size, total - offset));
    ZCB_RETURN_IF_ERROR(strategy.Send(offset, len));
    offset += len;
    if (offset < next_clock) continue;
    next_clock = offset + clock_every;
    const TrialClock::time_point now = TrialClock::now();
    if (now >= deadline) break;
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) break;
    if (ns_per_byte > 0) {
      // Sleep while ahead of the target rate's schedule, measured from the window's start.
      const auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(offset) * ns_per_byte));
      if (due > now) std::this_thread::sleep_until(due);
    }
  }
  if (sends_done != nullptr) *sends_done = TrialClock::now();
  return strategy.Finish();
}

nlohmann::json NewTrialRecord(const ResolvedTrial& trial, const TrialContext& context) {
  nlohmann::json record = {
      {"schema", "zcbench.trial/1"}, {"run_id", context.run_id}, {"trial", context.trial},
      {"repetition", context.repetition}, {"warmup", context.warmup},
  };
  record["params"] = TrialParamsJson(trial);
  record["point"] = PointKey(record["params"]);
  record["started_at"] = NowIso8601();
  record["status"] = "ok";
  record["error"] = nullptr;
  record["metrics"] = nullptr;
  return record;
}

WindowSummary SummarizeWindow(const ResolvedTrial& trial, double elapsed_s, uint64_t bytes_received, const SendStats& sent,
                              int sender_tid, int receiver_tid) {
  WindowSummary summary{elapsed_s, sent.bytes_sent, bytes_received, sender_tid, receiver_tid};
  summary.protocol = trial.spec.protocol;
  summary.source = trial.source;
  summary.receiver_mode = trial.spec.receiver;
  summary.caps = trial.strategy->caps;
  summary.zerocopy = sent.zerocopy;
  return summary;
}

void ReportProbes(const TrialContext& context, const WindowSummary& summary, const MeasuredWindow& window,
                  nlohmann::json& metrics) {
  for (WindowProbe* probe : context.probes) probe->Report(summary, metrics);
  if (!window.probe_errors.empty()) metrics["probe_errors"] = window.probe_errors;
}

void RecordPathAndConstraints(nlohmann::json& record, const NetworkPath& path, HostConstraints* constraints) {
  if (constraints != nullptr) constraints->Stop();
  record["path"] = path.Describe();
  if (constraints != nullptr) record["constraints"] = constraints->Report();
}

bool BreaksReuseRuleOnPurpose(const ResolvedTrial& trial) {
  return trial.strategy->caps.supports_unsafe_reuse && trial.options.GetBool("unsafe_reuse");
}

}  // namespace zcb
