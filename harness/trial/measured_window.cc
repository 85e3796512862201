#include "harness/trial/measured_window.h"

#include <fstream>

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

}  // namespace zcb
