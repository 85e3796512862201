// Loader of softirq_time.bpf.c: time spent in each softirq vector over the window, and
// the network softirq work the trial's thread CPU times do not hold (run on another task
// of the trial's CPUs: ksoftirqd, the idle task, another process).

#include <array>
#include <vector>

#include "harness/probes/softirq_time.h"
#include "harness/probes/softirq_time.skel.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kEntry = "irq:softirq_entry";
constexpr const char* kExit = "irq:softirq_exit";
constexpr const char* kRaise = "irq:softirq_raise";

class SoftirqTimeGroup : public TracepointGroup {
 public:
  SoftirqTimeGroup() : TracepointGroup("softirq_time") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<softirq_time_bpf>());
    ZCB_RETURN_IF_ERROR(ShareTrialThreads(skel_->maps.trial_threads, config));
    skel_->rodata->target_tgid = config.target_tgid;
    // Vector numbers are the kernel's: decode them from its tracepoint format.
    vectors_ = config.catalog->FieldValueNames(kEntry, "vec", "NET_RX_SOFTIRQ", "", "_SOFTIRQ");
    for (const auto& [value, name] : vectors_.names) {
      if ((name == "net_rx" || name == "net_tx") && value >= 0 && value < 32)
        skel_->rodata->trial_vectors |= 1u << value;
    }
    ZCB_RETURN_IF_ERROR(LoadAndAttach({{skel_->progs.softirq_enter, kEntry},
                                       {skel_->progs.softirq_leave, kExit},
                                       {skel_->progs.softirq_raised, kRaise}},
                                      config, [this] { return softirq_time_bpf::load(skel_); }));
    // Entry without exit (or the reverse) measures nothing: both or neither (a missing
    // raise only leaves the trial's part unknown).
    for (TracepointProgram& p : programs()) {
      for (const TracepointProgram& other : programs()) {
        if (!other.attached() && p.attached() && other.tracepoint != kRaise) {
          p.link.reset();
          p.reason = "needs " + other.tracepoint + ": " + other.reason;
        }
      }
    }
    return OkStatus();
  }

  void WatchTrialCpus(const std::vector<int>& cpus) override { trial_cpus_ = cpus; }

  // Sums every CPU into `counts`, and the trial's CPUs only into `on_trial_cpus`.
  void Snapshot(bool end) override {
    auto& counts = end ? end_ : begin_;
    auto& on_trial_cpus = end ? end_trial_cpus_ : begin_trial_cpus_;
    if (!end) snapshot_error_.clear();
    for (uint32_t slot = 0; slot < ZCB_SOFTIRQ_SLOTS; ++slot) {
      auto values = PerCpuValues<uint32_t, zcb_softirq_counts>(skel_->maps.softirq_counts, slot);
      if (!values.ok()) {
        snapshot_error_ = values.error().ToString();
        return;
      }
      counts[slot] = on_trial_cpus[slot] = {};
      for (size_t cpu = 0; cpu < values->size(); ++cpu) counts[slot] = CounterCombine(counts[slot], (*values)[cpu], 1);
      for (int cpu : trial_cpus_) {
        if (cpu >= 0 && static_cast<size_t>(cpu) < values->size()) {
          on_trial_cpus[slot] = CounterCombine(on_trial_cpus[slot], (*values)[static_cast<size_t>(cpu)], 1);
        }
      }
    }
  }

  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    const bool ok = Available(kEntry, "softirq", probes);
    if (!ok || vectors_.names.empty()) {
      const std::string reason =
          ok ? "softirq vector names unknown: " + vectors_.reason : probes["softirq_reason"].get<std::string>();
      probes["softirq"] = nullptr;
      probes["softirq_reason"] = reason;
      probes["softirq_net_rx_ns"] = nullptr;
      probes["softirq_net_rx_ns_reason"] = reason;
      probes["softirq_net_tx_ns"] = nullptr;
      probes["softirq_net_tx_ns_reason"] = reason;
      probes["softirq_net_outside_trial_ns"] = nullptr;
      probes["softirq_net_outside_trial_ns_reason"] = reason;
      return;
    }
    nlohmann::json by_vector = nlohmann::json::object();
    for (const auto& [value, name] : vectors_.names) {
      if (value < 0 || value >= ZCB_SOFTIRQ_SLOTS - 1 || name.rfind("nr_", 0) == 0) continue;
      const zcb_softirq_counts d = CounterDelta(end_[value], begin_[value]);
      by_vector[name] = {{"count", d.count},
                         {"ns", d.ns},
                         {"count_trial_elsewhere", d.count_trial_elsewhere},
                         {"ns_trial_elsewhere", d.ns_trial_elsewhere}};
    }
    probes["softirq"] = by_vector;
    for (const char* vector : {"net_rx", "net_tx"}) {
      const std::string key = fmt::format("softirq_{}_ns", vector);
      if (by_vector.contains(vector)) {
        probes[key] = by_vector[vector]["ns"];
      } else {
        probes[key] = nullptr;
        probes[key + "_reason"] = fmt::format("this kernel names no softirq vector {}", vector);
      }
    }
    ReportOutsideTrial(probes);
  }

 private:
  // softirq_net_outside_trial_ns: NET_RX and NET_TX time on the trial's CPUs raised by
  // the trial but run on another task, the part of the trial's CPU cost that its thread
  // CPU times do not hold.
  void ReportOutsideTrial(nlohmann::json& probes) const {
    const std::string key = "softirq_net_outside_trial_ns";
    if (!Available(kRaise, key, probes)) return;
    uint64_t ns = 0;
    bool named = false;
    for (const auto& [value, name] : vectors_.names) {
      if (name != "net_rx" && name != "net_tx") continue;
      if (value < 0 || value >= ZCB_SOFTIRQ_SLOTS - 1) continue;
      named = true;
      ns += CounterDelta(end_trial_cpus_[value], begin_trial_cpus_[value]).ns_trial_elsewhere;
    }
    if (named) {
      probes[key] = ns;
    } else {
      probes[key] = nullptr;
      probes[key + "_reason"] = "this kernel names no softirq vector net_rx or net_tx";
    }
    probes["softirq_trial_cpus"] = trial_cpus_;
  }

  softirq_time_bpf* skel_ = nullptr;
  ValueNames vectors_;
  std::vector<int> trial_cpus_;
  std::array<zcb_softirq_counts, ZCB_SOFTIRQ_SLOTS> begin_{}, end_{}, begin_trial_cpus_{}, end_trial_cpus_{};
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenSoftirqTimeGroup(const GroupConfig& config) {
  return MakeOpenedGroup<SoftirqTimeGroup>(config);
}

}  // namespace zcb
