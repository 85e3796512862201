// Loader of page_faults.bpf.c: page faults in user and kernel mode over the window.

#include "harness/probes/page_faults.h"
#include "harness/probes/page_faults.skel.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kUser = "exceptions:page_fault_user";
constexpr const char* kKernel = "exceptions:page_fault_kernel";

class PageFaultsGroup : public TracepointGroup {
 public:
  PageFaultsGroup() : TracepointGroup("page_faults") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<page_faults_bpf>());
    skel_->rodata->target_tgid = config.target_tgid;
    return LoadAndAttach({{skel_->progs.count_page_fault_user, kUser}, {skel_->progs.count_page_fault_kernel, kKernel}},
                         config, [this] { return page_faults_bpf::load(skel_); });
  }

  void Snapshot(bool end) override {
    if (!end) snapshot_error_.clear();
    auto counts = SumPerCpuValue<uint32_t, zcb_page_fault_counts>(skel_->maps.fault_counts, 0);
    if (!counts.ok()) {
      snapshot_error_ = counts.error().ToString();
      return;
    }
    (end ? end_ : begin_) = *counts;
  }

  // probes.page_faults: user + kernel mode faults; probes.page_faults_detail: each.
  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    if (!snapshot_error_.empty() || !any_attached()) {
      const std::string reason = !snapshot_error_.empty() ? snapshot_error_ : programs().front().reason;
      for (const char* key : {"page_faults", "page_faults_in_process", "page_faults_detail"}) {
        probes[key] = nullptr;
        probes[std::string(key) + "_reason"] = reason;
      }
      return;
    }
    const zcb_page_fault_counts d = CounterDelta(end_, begin_);
    nlohmann::json detail = nlohmann::json::object();
    const bool user = Available(kUser, "user", detail);
    const bool kernel = Available(kKernel, "kernel", detail);
    if (user) {
      detail["user"] = d.user;
      detail["user_in_process"] = d.user_in_process;
    }
    if (kernel) {
      detail["kernel"] = d.kernel;
      detail["kernel_in_process"] = d.kernel_in_process;
    }
    if (user && kernel) {
      probes["page_faults"] = d.user + d.kernel;
      probes["page_faults_in_process"] = d.user_in_process + d.kernel_in_process;
    } else {
      const std::string reason = (user ? ProgramFor(kKernel) : ProgramFor(kUser))->reason;
      probes["page_faults"] = nullptr;
      probes["page_faults_reason"] = reason;
      probes["page_faults_in_process"] = nullptr;
      probes["page_faults_in_process_reason"] = reason;
    }
    probes["page_faults_detail"] = detail;
  }

 private:
  page_faults_bpf* skel_ = nullptr;
  zcb_page_fault_counts begin_{}, end_{};
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenPageFaultsGroup(const GroupConfig& config) {
  return MakeOpenedGroup<PageFaultsGroup>(config);
}

}  // namespace zcb
