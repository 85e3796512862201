// Loader of ipi.bpf.c: inter-processor interrupts sent and handled over the window.

#include <map>

#include "harness/probes/ipi.h"
#include "harness/probes/ipi.skel.h"
#include "harness/probes/kernel_symbols.h"
#include "harness/probes/tracepoint_groups.h"

namespace zcb {
namespace {

constexpr const char* kSendCpu = "ipi:ipi_send_cpu";
constexpr const char* kSendCpumask = "ipi:ipi_send_cpumask";
constexpr const char* kCallFunction = "irq_vectors:call_function_entry";
constexpr const char* kCallFunctionSingle = "irq_vectors:call_function_single_entry";
constexpr const char* kCsdQueue = "csd:csd_queue_cpu";

// The kind of work a cross-CPU function call does, from the kernel function it runs.
const char* CallKind(const std::string& function) {
  if (function.rfind("flush_tlb_func", 0) == 0) return "tlb_shootdown";
  if (function == "sched_ttwu_pending") return "wakeup";
  return "call_function";
}

// A send without a callback (smp_send_reschedule) is a reschedule IPI.
constexpr uint64_t kNoCallback = 0;

class IpiGroup : public TracepointGroup {
 public:
  IpiGroup() : TracepointGroup("ipi") {}

  Status Open(const GroupConfig& config) {
    ZCB_ASSIGN_OR_RETURN(skel_, OpenSkeleton<ipi_bpf>());
    ZCB_RETURN_IF_ERROR(ShareTrialThreads(skel_->maps.trial_threads, config));
    skel_->rodata->target_tgid = config.target_tgid;
    skel_->rodata->cpumask_words = static_cast<uint32_t>((PossibleCpus() + 63) / 64);
    return LoadAndAttach({{skel_->progs.count_ipi_send_cpu, kSendCpu},
                          {skel_->progs.count_ipi_send_cpumask, kSendCpumask},
                          {skel_->progs.count_call_function, kCallFunction},
                          {skel_->progs.count_call_function_single, kCallFunctionSingle},
                          {skel_->progs.count_csd_queue_cpu, kCsdQueue}},
                         config, [this] { return ipi_bpf::load(skel_); });
  }

  void Snapshot(bool end) override {
    if (!end) snapshot_error_.clear();
    auto counts = SumPerCpuValue<uint32_t, zcb_ipi_counts>(skel_->maps.ipi_counts, 0);
    auto callbacks = SumPerCpuHash<uint64_t, zcb_ipi_callback_counts>(skel_->maps.ipi_callbacks);
    auto functions = SumPerCpuHash<uint64_t, zcb_csd_function_counts>(skel_->maps.csd_functions);
    if (!counts.ok() || !callbacks.ok() || !functions.ok()) {
      snapshot_error_ = (!counts.ok()      ? counts.error()
                         : !callbacks.ok() ? callbacks.error()
                                           : functions.error())
                            .ToString();
      return;
    }
    (end ? end_ : begin_) = *counts;
    auto& by_callback = end ? end_callbacks_ : begin_callbacks_;
    by_callback.clear();
    for (const auto& [address, value] : *callbacks) by_callback[address] = value;
    auto& by_function = end ? end_functions_ : begin_functions_;
    by_function.clear();
    for (const auto& [address, value] : *functions) by_function[address] = value;
  }

  // probes.ipi: the interrupts sent (one per CPU targeted); probes.ipi_detail: the sends,
  // their callbacks, and the function-call IPIs handled.
  void Report(const WindowSummary& /*summary*/, nlohmann::json& probes) override {
    if (!snapshot_error_.empty() || !any_attached()) {
      const std::string reason = !snapshot_error_.empty() ? snapshot_error_ : FirstReason();
      for (const char* key : {"ipi", "ipi_in_process", "ipi_in_trial", "ipi_by_kind", "ipi_detail"}) {
        probes[key] = nullptr;
        probes[std::string(key) + "_reason"] = reason;
      }
      return;
    }
    const zcb_ipi_counts d = CounterDelta(end_, begin_);
    nlohmann::json detail = nlohmann::json::object();
    const bool has_cpu = Available(kSendCpu, "send_cpu", detail);
    const bool has_mask = Available(kSendCpumask, "send_cpumask", detail);
    if (has_cpu) detail["send_cpu"] = d.send_cpu;
    if (has_mask) detail["send_cpumask"] = d.send_cpumask;
    if (has_cpu && has_mask) {
      probes["ipi"] = d.targets;
      probes["ipi_in_process"] = d.targets_in_process;
      probes["ipi_in_trial"] = d.targets_in_trial;
    } else {
      // Half the sends would be a wrong total.
      const std::string reason = (has_cpu ? ProgramFor(kSendCpumask) : ProgramFor(kSendCpu))->reason;
      probes["ipi"] = nullptr;
      probes["ipi_reason"] = reason;
      probes["ipi_in_process"] = nullptr;
      probes["ipi_in_process_reason"] = reason;
      probes["ipi_in_trial"] = nullptr;
      probes["ipi_in_trial_reason"] = reason;
    }
    if (has_cpu || has_mask) {
      detail["sends"] = d.send_cpu + d.send_cpumask;
      detail["sends_in_process"] = d.sends_in_process;
      detail["targets"] = d.targets;
      detail["targets_in_process"] = d.targets_in_process;
      detail["sends_in_trial"] = d.sends_in_trial;
      detail["targets_in_trial"] = d.targets_in_trial;
      detail["by_callback"] = CallbackDeltas();
      if (d.callback_overflow > 0) detail["callback_overflow"] = d.callback_overflow;
    }
    const bool has_call = Available(kCallFunction, "call_function", detail);
    const bool has_single = Available(kCallFunctionSingle, "call_function_single", detail);
    if (has_call) detail["call_function"] = d.call_function;
    if (has_single) detail["call_function_single"] = d.call_function_single;
    if (has_call || has_single) detail["handled_in_process"] = d.handled_in_process;
    probes["ipi_detail"] = detail;
    probes["ipi_by_kind"] = ByKind(has_cpu && has_mask);
  }

 private:
  std::string FirstReason() const {
    for (const TracepointProgram& p : programs()) {
      if (!p.reason.empty()) return p.reason;
    }
    return "no IPI tracepoint attached";
  }

  // probes.ipi_by_kind: reschedule IPIs (sends without a callback, one per target CPU),
  // and the cross-CPU function calls queued, by the kind of work they do. Each kind
  // counts system-wide and from the trial's threads.
  nlohmann::json ByKind(bool have_sends) {
    nlohmann::json kinds = nlohmann::json::object();
    auto entry = [](uint64_t count, uint64_t in_trial) {
      return nlohmann::json{{"count", count}, {"count_in_trial", in_trial}};
    };
    if (have_sends) {
      zcb_ipi_callback_counts none{};
      auto after = end_callbacks_.find(kNoCallback);
      auto before = begin_callbacks_.find(kNoCallback);
      if (after != end_callbacks_.end())
        none = before == begin_callbacks_.end() ? after->second : CounterDelta(after->second, before->second);
      kinds["reschedule"] = entry(none.targets, none.targets_in_trial);
    } else {
      kinds["reschedule"] = nullptr;
      kinds["reschedule_reason"] = FirstReason();
    }
    if (!Available(kCsdQueue, "tlb_shootdown", kinds)) {
      for (const char* kind : {"wakeup", "call_function"}) {
        kinds[kind] = nullptr;
        kinds[std::string(kind) + "_reason"] = kinds["tlb_shootdown_reason"];
      }
    } else {
      for (const char* kind : {"tlb_shootdown", "wakeup", "call_function"}) kinds[kind] = entry(0, 0);
      std::map<uint64_t, zcb_csd_function_counts> deltas;
      std::set<uint64_t> addresses;
      for (const auto& [address, after] : end_functions_) {
        auto before = begin_functions_.find(address);
        deltas[address] = before == begin_functions_.end() ? after : CounterDelta(after, before->second);
        addresses.insert(address);
      }
      const auto names = symbols_.Names(addresses);
      for (const auto& [address, d] : deltas) {
        nlohmann::json& kind = kinds[CallKind(names.at(address))];
        kind["count"] = kind["count"].get<uint64_t>() + d.queued;
        kind["count_in_trial"] = kind["count_in_trial"].get<uint64_t>() + d.queued_in_trial;
      }
    }
    kinds["source"] =
        "reschedule: ipi:ipi_send_cpu/ipi_send_cpumask sends with no callback, per target CPU; tlb_shootdown "
        "(flush_tlb_func), "
        "wakeup (sched_ttwu_pending), call_function (any other function): cross-CPU function calls queued "
        "(csd:csd_queue_cpu), "
        "each delivered by a function-call IPI unless one is already pending on its target CPU";
    return kinds;
  }

  // Sends per callback (the function the target CPUs are asked to run), by name.
  nlohmann::json CallbackDeltas() {
    std::set<uint64_t> addresses;
    std::map<uint64_t, zcb_ipi_callback_counts> deltas;
    for (const auto& [address, after] : end_callbacks_) {
      auto before = begin_callbacks_.find(address);
      const zcb_ipi_callback_counts d = before == begin_callbacks_.end() ? after : CounterDelta(after, before->second);
      if (d.sends == 0) continue;
      deltas[address] = d;
      addresses.insert(address);
    }
    const auto names = symbols_.Names(addresses);
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [address, d] : deltas) {
      nlohmann::json& entry = out[names.at(address)];
      if (entry.is_null())
        entry = {{"sends", 0}, {"targets", 0}, {"sends_in_process", 0}, {"sends_in_trial", 0}, {"targets_in_trial", 0}};
      entry["sends"] = entry["sends"].get<uint64_t>() + d.sends;
      entry["targets"] = entry["targets"].get<uint64_t>() + d.targets;
      entry["sends_in_process"] = entry["sends_in_process"].get<uint64_t>() + d.sends_in_process;
      entry["sends_in_trial"] = entry["sends_in_trial"].get<uint64_t>() + d.sends_in_trial;
      entry["targets_in_trial"] = entry["targets_in_trial"].get<uint64_t>() + d.targets_in_trial;
    }
    return out;
  }

  ipi_bpf* skel_ = nullptr;
  zcb_ipi_counts begin_{}, end_{};
  std::map<uint64_t, zcb_ipi_callback_counts> begin_callbacks_, end_callbacks_;
  std::map<uint64_t, zcb_csd_function_counts> begin_functions_, end_functions_;
  KernelSymbols symbols_;
};

}  // namespace

Result<std::unique_ptr<TracepointGroup>> OpenIpiGroup(const GroupConfig& config) {
  return MakeOpenedGroup<IpiGroup>(config);
}

}  // namespace zcb
