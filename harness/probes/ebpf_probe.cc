#include "harness/probes/ebpf_probe.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <fmt/format.h>

namespace zcb {
namespace {

using GroupOpener = Result<std::unique_ptr<TracepointGroup>> (*)(const GroupConfig&);

struct GroupSpec {
  const char* name;
  GroupOpener open;
  // The record keys the group fills: null with a reason when it cannot load.
  std::vector<const char*> keys;
};

const std::vector<GroupSpec>& Groups() {
  static const std::vector<GroupSpec> groups = {
      {"tlb_flush", OpenTlbFlushGroup, {"tlb_flush", "tlb_flush_total"}},
      {"ipi", OpenIpiGroup, {"ipi", "ipi_in_process", "ipi_in_trial", "ipi_by_kind", "ipi_detail"}},
      {"page_faults", OpenPageFaultsGroup, {"page_faults", "page_faults_in_process", "page_faults_detail"}},
      {"net_traffic", OpenNetTrafficGroup, {"kernel_copy_bytes", "recv_copy_bytes", "xmit_in_process", "retransmits"}},
      {"softirq_time",
       OpenSoftirqTimeGroup,
       {"softirq", "softirq_net_rx_ns", "softirq_net_tx_ns", "softirq_net_outside_trial_ns"}},
      {"xmit_devices", OpenXmitDevicesGroup, {"xmit_packets", "xmit_bytes", "xmit_by_device"}},
  };
  return groups;
}

// The field of `probes` at `path` ("ipi/sent") as a number, or nullopt.
std::optional<double> NumberAt(const nlohmann::json& probes, std::initializer_list<const char*> path) {
  const nlohmann::json* node = &probes;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

// Counts per GiB delivered: what the kernel did for each GiB the receiver got.
nlohmann::json PerGib(const nlohmann::json& probes, uint64_t bytes_received) {
  if (bytes_received == 0) return nullptr;
  const double gib = static_cast<double>(bytes_received) / (1024.0 * 1024.0 * 1024.0);
  nlohmann::json out = nlohmann::json::object();
  auto put = [&](const char* name, std::optional<double> value) {
    out[name] = value ? nlohmann::json(*value / gib) : nlohmann::json(nullptr);
  };
  put("tlb_flushes", NumberAt(probes, {"tlb_flush_total", "count"}));
  put("tlb_remote_shootdowns", NumberAt(probes, {"tlb_flush", "remote_shootdown", "count"}));
  put("ipis", NumberAt(probes, {"ipi"}));
  put("page_faults", NumberAt(probes, {"page_faults"}));
  put("kernel_copy_bytes", NumberAt(probes, {"kernel_copy_bytes"}));
  put("xmit_packets", NumberAt(probes, {"xmit_packets"}));
  return out;
}

}  // namespace

std::vector<std::string> EbpfGroupNames() {
  std::vector<std::string> names;
  for (const GroupSpec& spec : Groups()) names.push_back(spec.name);
  return names;
}

std::vector<std::string> AllProbeTracepoints() {
  return {"tlb:tlb_flush",
          "ipi:ipi_send_cpu",
          "ipi:ipi_send_cpumask",
          "irq_vectors:call_function_entry",
          "irq_vectors:call_function_single_entry",
          "csd:csd_queue_cpu",
          "exceptions:page_fault_user",
          "exceptions:page_fault_kernel",
          "skb:skb_copy_datagram_iovec",
          "sock:sock_recv_length",
          "sock:sock_send_length",
          "net:net_dev_xmit",
          "net:net_dev_start_xmit",
          "tcp:tcp_retransmit_skb",
          "irq:softirq_entry",
          "irq:softirq_exit",
          "irq:softirq_raise"};
}

std::unique_ptr<EbpfProbe> EbpfProbe::Open(const EbpfProbeOptions& options) {
  // Only the formats with value tables are read (tlb_flush reasons, softirq vectors).
  std::unique_ptr<EbpfProbe> probe(new EbpfProbe(TracepointCatalog::Load({"tlb:tlb_flush", "irq:softirq_entry"})));
  probe->run_time_stats_ = options.run_time_stats;
  GroupConfig config;
  config.catalog = &probe->catalog_;
  config.simulate_missing = options.simulate_missing;
  config.target_tgid = static_cast<uint32_t>(::getpid());
  if (auto map = TrialThreadMap::Create(); map.ok()) {
    probe->trial_threads_ = std::move(*map);
    config.trial_threads_fd = probe->trial_threads_->fd();
  } else {
    probe->trial_threads_reason_ = map.error().ToString();
  }
  std::string first_error;
  for (const GroupSpec& spec : Groups()) {
    if (options.groups && options.groups->count(spec.name) == 0) {
      probe->group_errors_[spec.name] = fmt::format(
          "not requested (--probes): eBPF group {} is not in this selection (zcbench help probes)", spec.name);
      continue;
    }
    auto group = spec.open(config);
    if (!group.ok()) {
      probe->group_errors_[spec.name] = group.error().ToString();
      if (first_error.empty()) first_error = group.error().ToString();
      continue;
    }
    probe->groups_.push_back(std::move(*group));
  }
  if (probe->groups_.empty()) {
    probe->unavailable_reason_ =
        geteuid() != 0 ? fmt::format("eBPF probes need root (or CAP_BPF and CAP_PERFMON): {}", first_error)
                       : fmt::format("no eBPF probe could be loaded: {}", first_error);
  }
  return probe;
}

std::map<std::string, EbpfProbe::RunStats> EbpfProbe::ReadRunStats(std::string* error) const {
  std::map<std::string, RunStats> out;
  for (const auto& group : groups_) {
    for (const TracepointProgram& p : group->programs()) {
      if (!p.attached()) continue;
      bpf_prog_info info{};
      __u32 length = sizeof info;
      if (bpf_obj_get_info_by_fd(bpf_program__fd(p.program), &info, &length) != 0) {
        if (error != nullptr && error->empty())
          *error = SysError(fmt::format("bpf_obj_get_info_by_fd({})", p.name())).ToString();
        continue;
      }
      out[p.name()] = {info.run_time_ns, info.run_cnt};
    }
  }
  return out;
}

void EbpfProbe::WatchTrialThreads(const std::vector<int>& tids) {
  trial_tids_ = tids;
  trial_cpus_ = CpusOfThreads(tids);
  if (trial_threads_) {
    const Status set = trial_threads_->Set(tids);
    trial_threads_reason_ = set.ok() ? "" : set.error().ToString();
  }
  for (const auto& group : groups_) group->WatchTrialCpus(trial_cpus_);
}

Status EbpfProbe::Begin() {
  if (groups_.empty()) return OkStatus();
  stats_error_.clear();
  if (run_time_stats_) {
    // The kernel times BPF programs only while someone holds a stats fd.
    const int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) {
      stats_error_ = Error(-fd, "bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME)").ToString();
    } else {
      stats_fd_.Reset(fd);
    }
    stats_begin_ = ReadRunStats(&stats_error_);
  }
  for (const auto& group : groups_) group->Snapshot(false);
  return OkStatus();
}

Status EbpfProbe::End() {
  if (groups_.empty()) return OkStatus();
  for (const auto& group : groups_) group->Snapshot(true);
  if (run_time_stats_) {
    stats_end_ = ReadRunStats(&stats_error_);
    stats_fd_.Reset();
  }
  return OkStatus();
}

DataMovementWindow EbpfProbe::data_movement() const {
  for (const auto& group : groups_) {
    if (group->name() == "net_traffic") return NetTrafficWindow(*group);
  }
  return {};
}

void EbpfProbe::Report(const WindowSummary& summary, nlohmann::json& metrics) {
  if (groups_.empty()) {
    metrics["probes"] = nullptr;
    metrics["probes_reason"] = unavailable_reason_;
    return;
  }
  nlohmann::json probes = nlohmann::json::object();
  // Counts are system-wide; *_in_process fields count events in this process's context
  // (the trial's sender and receiver threads run here).
  probes["scope"] = "system";
  probes["in_process_pid"] = ::getpid();
  // *_in_trial fields count events on the trial's own threads: these, and the process's
  // io_uring workers (trial_threads.bpf.h).
  probes["trial_threads"] = {{"tids", trial_tids_}, {"cpus", trial_cpus_}};
  if (!trial_threads_reason_.empty()) {
    probes["trial_threads"]["tids_reason"] = trial_threads_reason_ + " (only io_uring workers count as the trial's)";
  }
  for (const GroupSpec& spec : Groups()) {
    auto error = group_errors_.find(spec.name);
    if (error == group_errors_.end()) continue;
    for (const char* key : spec.keys) {
      probes[key] = nullptr;
      probes[std::string(key) + "_reason"] = error->second;
    }
  }
  for (const auto& group : groups_) group->Report(summary, probes);

  nlohmann::json programs = nlohmann::json::object();
  uint64_t total_ns = 0, total_cnt = 0;
  const bool have_stats = run_time_stats_ && stats_error_.empty();
  for (const auto& group : groups_) {
    for (const TracepointProgram& p : group->programs()) {
      nlohmann::json entry = {{"group", group->name()}, {"tracepoint", p.tracepoint}, {"attached", p.attached()}};
      if (!p.attached()) entry["reason"] = p.reason;
      auto before = stats_begin_.find(p.name());
      auto after = stats_end_.find(p.name());
      if (have_stats && before != stats_begin_.end() && after != stats_end_.end()) {
        const uint64_t ns = after->second.run_time_ns - before->second.run_time_ns;
        const uint64_t cnt = after->second.run_cnt - before->second.run_cnt;
        entry["run_time_ns"] = ns;
        entry["run_cnt"] = cnt;
        total_ns += ns;
        total_cnt += cnt;
      } else if (p.attached()) {
        entry["run_time_ns"] = nullptr;
        entry["run_cnt"] = nullptr;
      }
      programs[p.name()] = entry;
    }
  }
  probes["programs"] = programs;
  if (have_stats) {
    probes["run_time_ns"] = total_ns;
    probes["run_cnt"] = total_cnt;
  } else {
    const std::string reason = run_time_stats_ ? stats_error_ : "BPF run-time statistics were not requested";
    probes["run_time_ns"] = nullptr;
    probes["run_time_ns_reason"] = reason;
    probes["run_cnt"] = nullptr;
    probes["run_cnt_reason"] = reason;
  }
  probes["per_gib"] = PerGib(probes, summary.bytes_received);
  metrics["probes"] = probes;
}

}  // namespace zcb
