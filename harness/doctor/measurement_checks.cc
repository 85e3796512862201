// The doctor's measurement checks: each hardware counter, the CPU profile and the
// memory-traffic sources, each opened as its probe opens it.

#include <fmt/format.h>

#include "harness/doctor/checks.h"
#include "harness/probes/cpu_profile_probe.h"
#include "harness/probes/perf_counters.h"
#include "harness/probes/resctrl_mbm.h"
#include "harness/probes/uncore_pmu.h"

namespace zcb::doctor {

std::vector<SupportCheck> MeasurementChecks() {
  std::vector<SupportCheck> checks;
  // Hardware counters.
  const auto counters = HardwareCounterProbe::Open();
  for (const auto& c : counters->counters()) {
    const bool ok = c.reason.empty();
    checks.push_back({"counters", c.name, ok, ok ? fmt::format("counts on {} CPUs", c.cpus.size()) : c.reason,
                      ok ? "" : fmt::format("metrics.counters.{}", c.name)});
  }

  // The CPU profile: cpu-clock sampling with a BPF program, named from kallsyms.
  {
    CpuProfileOptions options;
    const auto profile = CpuProfileProbe::Open(options);
    const bool ok = profile->unavailable_reason().empty();
    checks.push_back({"profile", "cpu-clock sampling with kernel stacks", ok,
                      ok ? fmt::format("samples {} CPUs at {} Hz", OnlineCpus().size(), options.frequency_hz)
                         : profile->unavailable_reason(),
                      ok ? "" : "metrics.cpu_profile (where the CPU goes)"});
  }

  // Memory traffic sources.
  const MemoryPmuDiscovery pmus = DiscoverMemoryPmus();
  std::string notes;
  for (const std::string& note : pmus.notes) notes += (notes.empty() ? "" : "; ") + note;
  checks.push_back(
      {"memory", "memory-controller counters", !pmus.family.empty(),
       !pmus.family.empty() ? fmt::format("{} ({} events)", pmus.family, pmus.events.size()) : notes,
       !pmus.family.empty() ? "" : "measured memory traffic (metrics.memory falls back to resctrl or the model)"});
  auto mbm = ResctrlMbm::Discover();
  checks.push_back({"memory", "resctrl MBM", mbm.ok(), mbm.ok() ? "mounted at " + mbm->root() : mbm.error().ToString(),
                    mbm.ok() ? "" : "resctrl-measured memory traffic"});
  return checks;
}

}  // namespace zcb::doctor
