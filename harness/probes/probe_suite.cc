#include "harness/probes/probe_suite.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace zcb {
namespace {

// Writes null with "not requested" for the probe families left out of a run.
class NotRequestedProbe : public WindowProbe {
 public:
  explicit NotRequestedProbe(std::vector<std::string> keys) : keys_(std::move(keys)) {}
  Status Begin() override { return OkStatus(); }
  Status End() override { return OkStatus(); }
  void Report(const WindowSummary&, nlohmann::json& metrics) override {
    for (const std::string& key : keys_) {
      metrics[key] = nullptr;
      metrics[key + "_reason"] = "not requested (--probes)";
    }
  }

 private:
  std::vector<std::string> keys_;
};

}  // namespace

Result<ProbeOptions> ParseProbeSelection(std::string_view selection) {
  ProbeOptions options;
  if (selection == "all") return options;
  options.ebpf = options.counters = options.memory = options.cpu_profile = false;
  if (selection == "none") return options;
  size_t start = 0;
  while (start <= selection.size()) {
    size_t comma = selection.find(',', start);
    if (comma == std::string_view::npos) comma = selection.size();
    const std::string_view item = selection.substr(start, comma - start);
    if (item == "ebpf" || item == "tracepoints") {
      options.ebpf = true;
    } else if (item == "counters") {
      options.counters = true;
    } else if (item == "memory") {
      options.memory = true;
    } else if (item == "profile") {
      options.cpu_profile = true;
    } else {
      return Errorf("--probes {}: unknown probe family '{}'; expected all, none, or a comma list of ebpf, counters, memory, profile",
                    selection, item);
    }
    start = comma + 1;
  }
  return options;
}

Result<ProbeSuite> ProbeSuite::Open(const ProbeOptions& options) {
  const std::vector<int> online = OnlineCpus();
  if (options.membw_cpu && std::find(online.begin(), online.end(), *options.membw_cpu) == online.end()) {
    return Errorf("--membw-probe-cpu {}: no such online CPU (online: {})", *options.membw_cpu, fmt::join(online, ","));
  }
  if (options.membw_probe && !options.memory) {
    return Errorf("--membw-probe reports in metrics.memory: include memory in --probes");
  }
  ProbeSuite suite;
  std::vector<std::string> left_out;
  if (options.ebpf) {
    EbpfProbeOptions ebpf;
    ebpf.simulate_missing = options.simulate_missing_tracepoints;
    ebpf.run_time_stats = options.bpf_run_time_stats;
    suite.ebpf_ = EbpfProbe::Open(ebpf);
  } else {
    left_out.push_back("probes");
  }
  if (options.counters) {
    suite.counters_ = HardwareCounterProbe::Open();
  } else {
    left_out.push_back("counters");
  }
  if (options.memory) {
    MemoryTrafficOptions memory;
    memory.ebpf = suite.ebpf_.get();
    memory.corunner = options.membw_probe;
    memory.corunner_cpu = options.membw_cpu;
    memory.trial_cpus = options.trial_cpus;
    suite.memory_ = MemoryTrafficProbe::Open(memory);
  } else {
    left_out.push_back("memory");
  }
  if (options.cpu_profile) {
    CpuProfileOptions profile;
    profile.cpus = options.trial_cpus;  // empty: every online CPU
    profile.target_tgid = static_cast<uint32_t>(::getpid());
    profile.frequency_hz = options.cpu_profile_hz;
    suite.cpu_profile_ = CpuProfileProbe::Open(profile);
  } else {
    left_out.push_back("cpu_profile");
  }
  if (!left_out.empty()) suite.not_requested_ = std::make_unique<NotRequestedProbe>(left_out);
  return suite;
}

ProbeSuite::~ProbeSuite() = default;

std::vector<WindowProbe*> ProbeSuite::probes() const {
  std::vector<WindowProbe*> out;
  // Begun, ended and reported in this order: the memory probe's model reads the eBPF
  // probe's window, so it reports after it.
  if (ebpf_) out.push_back(ebpf_.get());
  if (counters_) out.push_back(counters_.get());
  if (memory_) out.push_back(memory_.get());
  // Last to begin: the other probes' set-up falls outside the sampled window.
  if (cpu_profile_) out.push_back(cpu_profile_.get());
  if (not_requested_) out.push_back(not_requested_.get());
  return out;
}

}  // namespace zcb
