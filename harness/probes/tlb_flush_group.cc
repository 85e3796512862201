// Loader of tlb_flush.bpf.c: TLB flushes per reason over the window.

#include <array>

#include "harness/probes/tlb_flush.h"
#include "harness/probes/tlb_flush.skel.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kTlbFlush = "tlb:tlb_flush";

class TlbFlushGroup : public TracepointGroup {
 public:
  TlbFlushGroup() : TracepointGroup("tlb_flush") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<tlb_flush_bpf>());
    ZCB_RETURN_IF_ERROR(ShareTrialThreads(skel_->maps.trial_threads, config));
    skel_->rodata->target_tgid = config.target_tgid;
    // Reason numbers differ between kernel versions: decode them from this kernel.
    reasons_ = config.catalog->FieldValueNames(kTlbFlush, "reason", "TLB_REMOTE_SHOOTDOWN", "TLB_", "");
    return LoadAndAttach({{skel_->progs.count_tlb_flush, kTlbFlush}}, config,
                         [this] { return tlb_flush_bpf::load(skel_); });
  }

  void Snapshot(bool end) override {
    auto& counts = end ? end_ : begin_;
    if (!end) snapshot_error_.clear();
    for (uint32_t slot = 0; slot < ZCB_TLB_REASON_SLOTS; ++slot) {
      auto value = SumPerCpuValue<uint32_t, zcb_tlb_counts>(skel_->maps.tlb_counts, slot);
      if (!value.ok()) {
        snapshot_error_ = value.error().ToString();
        return;
      }
      counts[slot] = *value;
    }
  }

  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    if (!Available(kTlbFlush, "tlb_flush", probes)) {
      probes["tlb_flush_total"] = nullptr;
      probes["tlb_flush_total_reason"] = probes["tlb_flush_reason"];
      return;
    }
    nlohmann::json by_reason = nlohmann::json::object();
    zcb_tlb_counts total{};
    auto add = [&](const std::string& name, const zcb_tlb_counts& d) {
      nlohmann::json& entry = by_reason[name];
      if (entry.is_null())
        entry = {{"count", 0}, {"pages", 0}, {"full_flushes", 0}, {"count_in_process", 0}, {"count_in_trial", 0}};
      entry["count"] = entry["count"].get<uint64_t>() + d.count;
      entry["pages"] = entry["pages"].get<uint64_t>() + d.pages;
      entry["full_flushes"] = entry["full_flushes"].get<uint64_t>() + d.full_flushes;
      entry["count_in_process"] = entry["count_in_process"].get<uint64_t>() + d.count_in_process;
      entry["count_in_trial"] = entry["count_in_trial"].get<uint64_t>() + d.count_in_trial;
      total = CounterCombine(total, d, 1);
    };
    // Every reason this kernel defines appears, zero or not, so that columns are stable.
    for (const auto& [value, name] : reasons_.names) {
      if (value >= 0 && value < ZCB_TLB_REASON_SLOTS - 1 && name.rfind("nr_", 0) != 0) add(name, {});
    }
    for (uint32_t slot = 0; slot < ZCB_TLB_REASON_SLOTS; ++slot) {
      const zcb_tlb_counts d = CounterDelta(end_[slot], begin_[slot]);
      if (d.count == 0) continue;
      add(slot == ZCB_TLB_REASON_SLOTS - 1 ? "other" : reasons_.NameOf(slot), d);
    }
    probes["tlb_flush"] = by_reason;
    probes["tlb_flush_total"] = {{"count", total.count},
                                 {"pages", total.pages},
                                 {"full_flushes", total.full_flushes},
                                 {"count_in_process", total.count_in_process},
                                 {"count_in_trial", total.count_in_trial}};
    probes["tlb_flush_names_source"] =
        reasons_.source.empty() ? nlohmann::json(reasons_.reason) : nlohmann::json(reasons_.source);
  }

 private:
  tlb_flush_bpf* skel_ = nullptr;
  ValueNames reasons_;
  std::array<zcb_tlb_counts, ZCB_TLB_REASON_SLOTS> begin_{}, end_{};
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenTlbFlushGroup(const GroupConfig& config) {
  return MakeOpenedGroup<TlbFlushGroup>(config);
}

}  // namespace zcb
