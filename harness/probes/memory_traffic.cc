#include "harness/probes/memory_traffic.h"

#include <algorithm>

#include <fmt/format.h>

#include "harness/probes/memory_model.h"
#include "harness/probes/perf_counters.h"

namespace zcb {

std::unique_ptr<MemoryTrafficProbe> MemoryTrafficProbe::Open(const MemoryTrafficOptions& options) {
  std::unique_ptr<MemoryTrafficProbe> probe(new MemoryTrafficProbe());
  probe->options_ = options;
  const MemoryPmuDiscovery discovery = DiscoverMemoryPmus(options.pmu_devices_root);
  std::string pmu_reason;
  for (const std::string& note : discovery.notes) pmu_reason += (pmu_reason.empty() ? "" : "; ") + note;
  if (!discovery.family.empty()) {
    auto counters = MemoryPmuCounters::Open(discovery);
    if (counters.ok()) {
      probe->pmu_ = std::move(*counters);
      probe->source_ = discovery.family;
    } else {
      pmu_reason = counters.error().ToString();
    }
  }
  if (probe->source_.empty()) {
    probe->considered_["memory_controller"] = pmu_reason;
    auto mbm = ResctrlMbm::Discover(options.mounts);
    if (mbm.ok()) {
      probe->mbm_ = std::move(*mbm);
      probe->source_ = "resctrl_mbm";
    } else {
      probe->considered_["resctrl_mbm"] = mbm.error().ToString();
    }
  }
  if (probe->source_.empty()) probe->source_ = "model";

  if (options.corunner) {
    std::optional<int> cpu = options.corunner_cpu;
    if (!cpu) {
      for (int online : OnlineCpus()) {
        if (std::find(options.trial_cpus.begin(), options.trial_cpus.end(), online) == options.trial_cpus.end()) {
          cpu = online;
          break;
        }
      }
    }
    if (!cpu) {
      probe->corunner_reason_ = fmt::format(
          "no spare CPU: the trial's threads use every online CPU ({}); name one to share with --membw-probe-cpu",
          OnlineCpus().size());
    } else {
      auto runner = BandwidthCoRunner::Start(*cpu);
      if (runner.ok()) {
        probe->corunner_ = std::move(*runner);
      } else {
        probe->corunner_reason_ = runner.error().ToString();
      }
    }
  }
  return probe;
}

Status MemoryTrafficProbe::Begin() {
  window_error_.clear();
  mbm_window_.reset();
  if (pmu_) {
    if (auto s = pmu_->Begin(); !s.ok()) window_error_ = s.error().ToString();
  }
  if (mbm_) {
    auto total = mbm_->TotalBytes();
    if (total.ok()) {
      mbm_begin_ = *total;
    } else {
      window_error_ = total.error().ToString();
    }
  }
  if (corunner_) corunner_->Begin();
  return OkStatus();
}

Status MemoryTrafficProbe::End() {
  if (corunner_) corunner_->End();
  if (pmu_ && window_error_.empty()) {
    if (auto s = pmu_->End(); !s.ok()) window_error_ = s.error().ToString();
  }
  if (mbm_ && window_error_.empty()) {
    auto total = mbm_->TotalBytes();
    if (total.ok()) {
      mbm_window_ = *total - mbm_begin_;
    } else {
      window_error_ = total.error().ToString();
    }
  }
  return OkStatus();
}

void MemoryTrafficProbe::Report(const WindowSummary& summary, nlohmann::json& metrics) {
  nlohmann::json memory = nlohmann::json::object();
  const MemoryModelResult model =
      options_.ebpf != nullptr
          ? ModelMemoryTraffic(summary, options_.ebpf->data_movement())
          : MemoryModelResult{false, "the model needs the eBPF probes' copy counts (--probes with ebpf)", 0, 0,
                              nullptr};
  auto set_totals = [&](std::optional<uint64_t> read, std::optional<uint64_t> write, uint64_t total) {
    memory["read_bytes"] = read ? nlohmann::json(*read) : nlohmann::json(nullptr);
    memory["write_bytes"] = write ? nlohmann::json(*write) : nlohmann::json(nullptr);
    memory["total_bytes"] = total;
    const double per_s = summary.elapsed_s > 0 ? static_cast<double>(total) / summary.elapsed_s : 0.0;
    memory["bandwidth_bytes_per_s"] = per_s;
    memory["bandwidth_bps"] = per_s * 8;  // bits per second, like goodput_bps
  };
  std::string source = source_;
  nlohmann::json considered = considered_;
  if (!window_error_.empty()) {
    considered[source_] = window_error_;
    source = "model";
  }
  if (source == "resctrl_mbm" && mbm_window_) {
    set_totals(std::nullopt, std::nullopt, *mbm_window_);
    memory["read_bytes_reason"] = "resctrl MBM counts reads and writes together";
    memory["write_bytes_reason"] = "resctrl MBM counts reads and writes together";
  } else if (source != "model" && source != "resctrl_mbm" && pmu_) {
    set_totals(pmu_->read_bytes(), pmu_->write_bytes(), pmu_->read_bytes() + pmu_->write_bytes());
  } else if (model.available) {
    source = "model";
    set_totals(model.read_bytes, model.write_bytes, model.read_bytes + model.write_bytes);
  } else {
    source = "unavailable";
    memory["read_bytes"] = nullptr;
    memory["write_bytes"] = nullptr;
    memory["bandwidth_bps"] = nullptr;
    memory["reason"] = model.reason;
  }
  memory["source"] = source;
  if (!considered.empty()) memory["sources_not_used"] = considered;
  if (model.available) {
    memory["model"] = model.detail;
    memory["model"]["read_bytes"] = model.read_bytes;
    memory["model"]["write_bytes"] = model.write_bytes;
  } else {
    memory["model"] = nullptr;
    memory["model_reason"] = model.reason;
  }
  if (options_.corunner) {
    if (corunner_) {
      nlohmann::json report = corunner_->Report();
      report["shares_cpu_with_trial"] = std::find(options_.trial_cpus.begin(), options_.trial_cpus.end(),
                                                  corunner_->cpu()) != options_.trial_cpus.end();
      memory["bandwidth_probe"] = report;
    } else {
      memory["bandwidth_probe"] = nullptr;
      memory["bandwidth_probe_reason"] = corunner_reason_;
    }
  }
  metrics["memory"] = memory;
}

}  // namespace zcb
