#include "harness/measured_window.h"

#include <algorithm>
#include <fstream>
#include <thread>


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

}  // namespace zcb
