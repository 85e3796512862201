#include "harness/probes/probe_suite.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/probes/copy_accounting.h"
#include "harness/probes/probe_costs.h"

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

std::set<std::string> DefaultEbpfGroups() {
  std::set<std::string> out;
  for (const EbpfGroupCost& group : EbpfGroupCosts()) {
    if (group.on_by_default) out.insert(group.name);
  }
  return out;
}

Result<ProbeOptions> ParseProbeSelection(std::string_view selection) {
  ProbeOptions options;
  options.ebpf = options.counters = options.memory = options.cpu_profile = false;
  options.ebpf_groups.clear();
  if (selection == "none") return options;
  const std::vector<std::string> groups = EbpfGroupNames();
  auto add_groups = [&options](const auto& names) {
    options.ebpf = true;
    options.ebpf_groups.insert(names.begin(), names.end());
  };
  size_t start = 0;
  while (start <= selection.size()) {
    size_t comma = selection.find(',', start);
    if (comma == std::string_view::npos) comma = selection.size();
    const std::string item(selection.substr(start, comma - start));
    if (item == "default" || item == "all") {
      add_groups(item == "all" ? std::set<std::string>(groups.begin(), groups.end()) : DefaultEbpfGroups());
      options.counters = options.memory = true;
      options.cpu_profile = options.cpu_profile || item == "all";
    } else if (item == "ebpf" || item == "tracepoints") {
      add_groups(DefaultEbpfGroups());
    } else if (std::find(groups.begin(), groups.end(), item) != groups.end()) {
      add_groups(std::set<std::string>{item});
    } else if (item == "bpf_stats") {
      options.bpf_run_time_stats = true;
    } else if (item == "counters") {
      options.counters = true;
    } else if (item == "memory") {
      options.memory = true;
    } else if (item == "profile") {
      options.cpu_profile = true;
    } else {
      return Usagef(
          "--probes {}: unknown probe '{}'; expected none, or a comma list of default, all, ebpf, counters, "
          "memory, profile, bpf_stats and the eBPF groups {} (zcbench help probes)",
          selection, item, fmt::join(groups, ", "));
    }
    start = comma + 1;
  }
  if (options.bpf_run_time_stats && !options.ebpf) {
    return Errorf("--probes {}: bpf_stats times the eBPF programs: add ebpf or an eBPF group", selection);
  }
  return options;
}

Result<ProbeSuite> ProbeSuite::Open(const ProbeOptions& options) {
  const std::vector<int> online = OnlineCpus();
  if (options.membw_cpu && std::find(online.begin(), online.end(), *options.membw_cpu) == online.end()) {
    return Usagef("--membw-probe-cpu {}: no such online CPU (online: {})", *options.membw_cpu, fmt::join(online, ","));
  }
  if (options.membw_probe && !options.memory) {
    return Usagef("--membw-probe reports in metrics.memory: include memory in --probes");
  }
  ProbeSuite suite;
  std::vector<std::string> left_out;
  if (options.ebpf) {
    EbpfProbeOptions ebpf;
    ebpf.simulate_missing = options.simulate_missing_tracepoints;
    ebpf.run_time_stats = options.bpf_run_time_stats;
    ebpf.groups = options.ebpf_groups;
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
  suite.copies_ = std::make_unique<CopiesProbe>(suite.ebpf_.get());
  if (!left_out.empty()) suite.not_requested_ = std::make_unique<NotRequestedProbe>(left_out);
  return suite;
}

std::string ProbeHelp() {
  std::string out =
      "Probes (zcbench run --probes SELECTION; experiment specs: [trial] probes):\n"
      "  default   the families ebpf (its default groups), counters and memory: the set within the budget\n"
      "  all       every family and every eBPF group\n"
      "  none      no probe (metrics.probes, counters, memory, cpu_profile and copies null with the reason)\n"
      "  a comma list of default, all and: ebpf (its default groups), counters, memory, profile, eBPF group names "
      "(those\n"
      "            groups, e.g. net_traffic,page_faults), bpf_stats (the eBPF programs' own run time in\n"
      "            probes.programs; timing every run adds two clock reads to it; e.g. default,bpf_stats)\n\n"
      "eBPF groups. Cost: the group's programs' own run time as a share of both CPUs, for write 4K / write 64K /\n"
      "mmap_write 16K on loopback (BPF run-time statistics, workloads/bench/probe_overhead.py; the README has\n"
      "the goodput and CPU-per-KiB ratios against --probes none, with the date and machine). The budget of the\n"
      "default set: 2% goodput and 3% CPU per KiB there; a group that would take the default set over it is off\n"
      "by default: ask for it by name (--probes default,net_traffic), or all.\n";
  for (const EbpfGroupCost& group : EbpfGroupCosts()) {
    out += fmt::format("  {:<13} {:<11} feeds {}\n  {:<13} {:<11} cost: {}\n", group.name,
                       group.on_by_default ? "default" : "off", group.feeds, "", "", group.cost);
  }
  out += "\nmetrics.copies needs net_traffic; a record whose group was not loaded says so in each *_reason.\n";
  out += fmt::format(
      "\nprofile       off         feeds metrics.cpu_profile (where the CPU goes, by category); the CPU profile "
      "figure\n"
      "              {:<11} cost: one cpu-clock sample per CPU at {} Hz (--profile-hz); write 4K goodput 0.86\n"
      "                          (0.82-0.95) of none, 15-18% more CPU per KiB (interrupt and hrtimer work of a\n"
      "                          KVM guest + stack walk ~3 us a sample; harness/probes/README.md): over the budget,\n"
      "                          so off by default\n",
      "", CpuProfileOptions{}.frequency_hz);
  return out;
}

ProbeSuite::~ProbeSuite() = default;

std::vector<WindowProbe*> ProbeSuite::probes() const {
  std::vector<WindowProbe*> out;
  // Begun, ended and reported in this order: the memory model and the copies read the
  // eBPF probe's window, so they report after it.
  if (ebpf_) out.push_back(ebpf_.get());
  if (counters_) out.push_back(counters_.get());
  if (memory_) out.push_back(memory_.get());
  // Last to begin: the other probes' set-up falls outside the sampled window.
  if (cpu_profile_) out.push_back(cpu_profile_.get());
  out.push_back(copies_.get());
  if (not_requested_) out.push_back(not_requested_.get());
  return out;
}

}  // namespace zcb
