#include "harness/probes/perf_counters.h"

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace zcb {

int PerfEventOpen(perf_event_attr* attr, int pid, int cpu, int group_fd, unsigned long flags) {
  return static_cast<int>(::syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags));
}

std::string PerfOpenFailure(const std::string& what, int errno_value) {
  switch (errno_value) {
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
      return fmt::format("{}: {}: this CPU (or virtual machine) exposes no such hardware counter", what,
                         std::strerror(errno_value));
    case EACCES:
    case EPERM:
      return fmt::format("{}: {}: system-wide counters need root or CAP_PERFMON (or kernel.perf_event_paranoid <= 0)",
                         what, std::strerror(errno_value));
    default:
      return Error(errno_value, what).ToString();
  }
}

std::vector<int> ParseSysfsCpuList(const std::string& list) {
  std::vector<int> cpus;
  std::istringstream in(list);
  std::string range;
  while (std::getline(in, range, ',')) {
    if (range.empty() || range == "\n") continue;
    const size_t dash = range.find('-');
    const int first = std::atoi(range.c_str());
    const int last = dash == std::string::npos ? first : std::atoi(range.c_str() + dash + 1);
    for (int c = first; c <= last; ++c) cpus.push_back(c);
  }
  return cpus;
}

std::vector<int> OnlineCpus() {
  std::ifstream in("/sys/devices/system/cpu/online");
  std::string list;
  if (in && std::getline(in, list)) {
    auto cpus = ParseSysfsCpuList(list);
    if (!cpus.empty()) return cpus;
  }
  std::vector<int> cpus;
  for (long c = 0; c < ::sysconf(_SC_NPROCESSORS_ONLN); ++c) cpus.push_back(static_cast<int>(c));
  return cpus;
}

Result<PerfReading> ReadPerf(int fd) {
  uint64_t values[3] = {};
  const ssize_t n = ::read(fd, values, sizeof values);
  if (n != static_cast<ssize_t>(sizeof values)) return SysError("read a perf counter");
  return PerfReading{values[0], values[1], values[2]};
}

std::unique_ptr<HardwareCounterProbe> HardwareCounterProbe::Open() {
  auto probe = std::make_unique<HardwareCounterProbe>();
  const uint64_t dtlb_read_miss =
      PERF_COUNT_HW_CACHE_DTLB | (PERF_COUNT_HW_CACHE_OP_READ << 8) | (PERF_COUNT_HW_CACHE_RESULT_MISS << 16);
  const struct {
    const char* name;
    uint32_t type;
    uint64_t config;
  } kCounters[] = {
      {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
      {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
      {"cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
      {"dtlb_load_misses", PERF_TYPE_HW_CACHE, dtlb_read_miss},
  };
  const std::vector<int> cpus = OnlineCpus();
  for (const auto& spec : kCounters) {
    Counter counter;
    counter.name = spec.name;
    counter.type = spec.type;
    counter.config = spec.config;
    for (int cpu : cpus) {
      perf_event_attr attr{};
      attr.size = sizeof attr;
      attr.type = spec.type;
      attr.config = spec.config;
      attr.disabled = 1;
      attr.exclude_hv = 1;
      attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
      UniqueFd fd(PerfEventOpen(&attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
      if (!fd) {
        counter.reason = PerfOpenFailure(fmt::format("perf_event_open({}, cpu {})", spec.name, cpu), errno);
        counter.fds.clear();
        counter.cpus.clear();
        break;
      }
      counter.cpus.push_back(cpu);
      counter.fds.push_back(std::move(fd));
    }
    probe->counters_.push_back(std::move(counter));
  }
  return probe;
}

Status HardwareCounterProbe::Begin() {
  for (Counter& c : counters_) {
    c.begin.clear();
    c.end.clear();
    for (const UniqueFd& fd : c.fds) {
      auto reading = ReadPerf(fd.get());
      c.begin.push_back(reading.ok() ? *reading : PerfReading{});
      ::ioctl(fd.get(), PERF_EVENT_IOC_ENABLE, 0);
    }
  }
  return OkStatus();
}

Status HardwareCounterProbe::End() {
  for (Counter& c : counters_) {
    for (const UniqueFd& fd : c.fds) ::ioctl(fd.get(), PERF_EVENT_IOC_DISABLE, 0);
    for (const UniqueFd& fd : c.fds) {
      auto reading = ReadPerf(fd.get());
      c.end.push_back(reading.ok() ? *reading : PerfReading{});
    }
  }
  return OkStatus();
}

void HardwareCounterProbe::Report(const WindowSummary& summary, nlohmann::json& metrics) {
  nlohmann::json counters = nlohmann::json::object();
  std::map<std::string, double> totals;
  for (const Counter& c : counters_) {
    if (!c.reason.empty() || c.end.size() != c.fds.size() || c.begin.size() != c.fds.size()) {
      counters[c.name] = nullptr;
      counters[c.name + "_reason"] =
          c.reason.empty() ? "the counter was not read at both edges of the window" : c.reason;
      continue;
    }
    double scaled = 0;
    uint64_t raw = 0, enabled = 0, running = 0;
    nlohmann::json per_cpu = nlohmann::json::array();
    for (size_t i = 0; i < c.fds.size(); ++i) {
      const uint64_t value = c.end[i].value - c.begin[i].value;
      const uint64_t e = c.end[i].time_enabled_ns - c.begin[i].time_enabled_ns;
      const uint64_t r = c.end[i].time_running_ns - c.begin[i].time_running_ns;
      // Multiplexed: the counter ran r of e ns; scale to the whole window (perf's way).
      const double cpu_scaled =
          r > 0 ? static_cast<double>(value) * static_cast<double>(e) / static_cast<double>(r) : 0.0;
      scaled += cpu_scaled;
      raw += value;
      enabled += e;
      running += r;
      per_cpu.push_back({{"cpu", c.cpus[i]},
                         {"count", cpu_scaled},
                         {"raw_count", value},
                         {"time_enabled_ns", e},
                         {"time_running_ns", r}});
    }
    counters[c.name] = {{"count", scaled},
                        {"raw_count", raw},
                        {"time_enabled_ns", enabled},
                        {"time_running_ns", running},
                        {"multiplexed", running < enabled},
                        {"per_cpu", per_cpu}};
    totals[c.name] = scaled;
  }
  if (totals.empty() && !counters_.empty()) {
    // No counter at all: one reason for the lot (e.g. a VM without a virtual PMU).
    counters["reason"] =
        counters_.front().reason.empty() ? "no hardware counter could be read" : counters_.front().reason;
  }
  if (totals.count("cycles") && totals.count("instructions") && totals["cycles"] > 0) {
    counters["instructions_per_cycle"] = totals["instructions"] / totals["cycles"];
  }
  if (totals.count("cycles") && summary.bytes_received > 0) {
    counters["cycles_per_kib"] = totals["cycles"] / (static_cast<double>(summary.bytes_received) / 1024.0);
  }
  metrics["counters"] = counters;
}

}  // namespace zcb
