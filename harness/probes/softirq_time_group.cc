// Loader of softirq_time.bpf.c: time spent in each softirq vector over the window.

#include <array>

#include "harness/probes/softirq_time.h"
#include "harness/probes/softirq_time.skel.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kEntry = "irq:softirq_entry";
constexpr const char* kExit = "irq:softirq_exit";

class SoftirqTimeGroup : public TracepointGroup {
 public:
  SoftirqTimeGroup() : TracepointGroup("softirq_time") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<softirq_time_bpf>());
    // Vector numbers are the kernel's: decode them from its tracepoint format.
    vectors_ = config.catalog->FieldValueNames(kEntry, "vec", "NET_RX_SOFTIRQ", "", "_SOFTIRQ");
    ZCB_RETURN_IF_ERROR(LoadAndAttach({{skel_->progs.softirq_enter, kEntry}, {skel_->progs.softirq_leave, kExit}}, config,
                                      [this] { return softirq_time_bpf::load(skel_); }));
    // Entry without exit (or the reverse) measures nothing: both or neither.
    for (TracepointProgram& p : programs()) {
      for (const TracepointProgram& other : programs()) {
        if (!other.attached() && p.attached()) {
          p.link.reset();
          p.reason = "needs " + other.tracepoint + ": " + other.reason;
        }
      }
    }
    return OkStatus();
  }

  void Snapshot(bool end) override {
    auto& counts = end ? end_ : begin_;
    if (!end) snapshot_error_.clear();
    for (uint32_t slot = 0; slot < ZCB_SOFTIRQ_SLOTS; ++slot) {
      auto value = SumPerCpuValue<uint32_t, zcb_softirq_counts>(skel_->maps.softirq_counts, slot);
      if (!value.ok()) {
        snapshot_error_ = value.error().ToString();
        return;
      }
      counts[slot] = *value;
    }
  }

  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    const bool ok = Available(kEntry, "softirq", probes);
    if (!ok || vectors_.names.empty()) {
      const std::string reason = ok ? "softirq vector names unknown: " + vectors_.reason : probes["softirq_reason"].get<std::string>();
      probes["softirq"] = nullptr;
      probes["softirq_reason"] = reason;
      probes["softirq_net_rx_ns"] = nullptr;
      probes["softirq_net_rx_ns_reason"] = reason;
      probes["softirq_net_tx_ns"] = nullptr;
      probes["softirq_net_tx_ns_reason"] = reason;
      return;
    }
    nlohmann::json by_vector = nlohmann::json::object();
    for (const auto& [value, name] : vectors_.names) {
      if (value < 0 || value >= ZCB_SOFTIRQ_SLOTS - 1 || name.rfind("nr_", 0) == 0) continue;
      const zcb_softirq_counts d = CounterDelta(end_[value], begin_[value]);
      by_vector[name] = {{"count", d.count}, {"ns", d.ns}};
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
  }

 private:
  softirq_time_bpf* skel_ = nullptr;
  ValueNames vectors_;
  std::array<zcb_softirq_counts, ZCB_SOFTIRQ_SLOTS> begin_{}, end_{};
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenSoftirqTimeGroup(const GroupConfig& config) {
  auto group = std::make_unique<SoftirqTimeGroup>();
  ZCB_RETURN_IF_ERROR(group->Open(config));
  return std::unique_ptr<TracepointGroup>(std::move(group));
}

}  // namespace zcb
