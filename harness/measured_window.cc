#include "harness/measured_window.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include "harness/parameters.h"
#include "harness/trial_common.h"

namespace zcb {
namespace {

std::optional<CpuSnapshot> ReadCpu() {
  auto snapshot = CpuSnapshot::Read();
  if (!snapshot.ok()) return std::nullopt;
  return std::move(*snapshot);
}

// read_bytes of /proc/self/io: what the process (every thread, exited ones too) caused to
// be read from the storage layer.
std::optional<uint64_t> DeviceReadBytes() {
  std::ifstream in("/proc/self/io");
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value) {
    if (name == "read_bytes:") return value;
  }
  return std::nullopt;
}

}  // namespace

nlohmann::json MeasuredWindow::CpuJson(const TrialCpuParts& parts, uint64_t bytes_delivered) const {
  const double process_s = static_cast<double>(process_cpu_after_ns - process_cpu_before_ns) * 1e-9;
  return CpuRecord(cpu_before, cpu_after, parts, process_s, bytes_delivered);
}

TrialCpuParts LocalTrialCpu(const SideOutcome& sender, const SideOutcome& receiver) {
  TrialCpuParts parts;
  parts.sender_thread_s = sender.cpu.thread_s;
  parts.sender = sender.cpu;
  parts.receiver_thread_s = receiver.cpu.thread_s;
  return parts;
}

MeasuredWindow RunMeasuredWindow(const TrialContext& context, bool measure, const std::vector<int>& trial_tids,
                                 const std::function<void(TrialClock::time_point)>& release,
                                 const std::function<void()>& join) {
  MeasuredWindow window;
  if (measure) {
    for (WindowProbe* probe : context.probes) {
      probe->WatchTrialThreads(trial_tids);
      if (auto s = probe->Begin(); !s.ok()) window.probe_errors.push_back(s.error().ToString());
    }
  }
  window.cpu_before = ReadCpu();
  window.process_cpu_before_ns = ProcessCpuNs();
  window.device_read_before = DeviceReadBytes();
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
  window.process_cpu_after_ns = ProcessCpuNs();
  window.device_read_after = DeviceReadBytes();
  return window;
}

Status SendPaced(SendStrategy& strategy, Payload& payload, const TrialSpec& spec, TrialClock::time_point start,
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
    ZCB_RETURN_IF_ERROR(payload.BeforeSend(offset));
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

PayloadConfig PayloadConfigFor(const ResolvedTrial& trial) {
  PayloadConfig config;
  config.kind = trial.source;
  config.max_message = trial.spec.message_size;
  config.file_dir = trial.spec.file_dir;
  config.cold = trial.spec.cold_cache;
  config.working_set = trial.spec.working_set.value_or(DefaultWorkingSet());
  // A trial of a known byte count never sends a byte twice from a working set that large:
  // the rest would only cost memory (and a cold file's disk writes).
  if (trial.spec.bytes) config.working_set = std::min<uint64_t>(config.working_set, *trial.spec.bytes);
  return config;
}

nlohmann::json PayloadJson(const ResolvedTrial& trial, const Payload& payload, const MeasuredWindow& window, uint64_t bytes_sent) {
  nlohmann::json out = nlohmann::json::object();
  if (payload.kind() == SourceKind::kGenerated) {
    out["working_set_bytes"] = nullptr;
    out["working_set_bytes_reason"] = "the generated source writes each message just before sending it (cache-hot by design)";
  } else {
    out["working_set_bytes"] = payload.cycle();
    out["working_set_source"] =
        trial.spec.working_set ? "given (--working-set, working_set)"
        : LastLevelCache()     ? fmt::format("default: {} times the last-level cache", kWorkingSetPerLlc)
                               : fmt::format("default: {} MiB, the last-level cache size is unknown", kWorkingSetWithoutLlc >> 20);
    if (trial.spec.bytes && payload.config().working_set == *trial.spec.bytes) {
      out["working_set_source"] = out["working_set_source"].get<std::string>() + ", cut to the bytes sent (each sent once)";
    }
    out["passes"] = static_cast<double>(bytes_sent) / static_cast<double>(payload.cycle());
  }
  if (const auto llc = LastLevelCache()) {
    out["llc_bytes"] = llc->bytes;
    out["llc_source"] = llc->source;
  } else {
    out["llc_bytes"] = nullptr;
    out["llc_bytes_reason"] = "sysfs (/sys/devices/system/cpu/cpu0/cache) names no data or unified cache";
  }
  if (payload.kind() == SourceKind::kFile) {
    out["file_system"] = payload.file_system();
    out["file_bytes"] = payload.file_size();
    out["page_cache_drops"] = payload.page_cache_drops();
  }
  if (window.device_read_before && window.device_read_after) {
    out["device_read_bytes"] = *window.device_read_after - *window.device_read_before;
    out["device_read_bytes_source"] =
        "/proc/self/io read_bytes over the window: bytes the process caused to be read from the storage layer, readahead "
        "included; pages another process had already brought in are not counted";
  } else {
    out["device_read_bytes"] = nullptr;
    out["device_read_bytes_reason"] = "/proc/self/io could not be read (a kernel without task I/O accounting)";
  }
  return out;
}

nlohmann::json NewTrialRecord(const ResolvedTrial& trial, const TrialContext& context) {
  nlohmann::json record = {
      {"schema", kTrialSchema}, {"run_id", context.run_id}, {"trial", context.trial},
      {"repetition", context.repetition}, {"warmup", context.warmup},
  };
  record["params"] = TrialParamsJson(trial);
  record["point"] = PointKey(trial);
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
  // The trial's CPU figure adds the softirq work the softirq_time probe found.
  FinishTrialCpu(metrics, summary.bytes_received);
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
