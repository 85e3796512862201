#include "harness/probes/cpu_profile_probe.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "harness/probes/cpu_categories.h"
#include "harness/probes/cpu_profile.h"
#include "harness/probes/cpu_profile.skel.h"
#include "harness/probes/perf_counters.h"

namespace zcb {
namespace {

constexpr const char* kSource = "eBPF perf_event program (cpu_profile.bpf.c) on per-CPU cpu-clock events";
constexpr const char* kAttribution =
    "kernel stack walked from the leaf up; the first frame a rule of the table matches decides (else other)";
constexpr const char* kTable = "harness/probes/cpu_categories.tsv";
constexpr const char* kUserCategory = "user";
// Leaf functions listed in the record, for checking the attribution by eye.
constexpr size_t kTopFunctions = 15;

// The busy categories whose shares sum to 1: the kernel's (idle excluded) and user mode.
std::vector<std::string> BusyCategories() {
  std::vector<std::string> out;
  for (const std::string& c : KernelCpuCategories()) {
    if (c != kIdleCategory) out.push_back(c);
  }
  out.emplace_back(kUserCategory);
  return out;
}

// Samples per category -> shares of the busy ones (idle excluded) and their binomial
// standard errors, into out[key] and out[key + "_stderr"]; null with a reason when there
// were no busy samples.
void PutShares(const std::map<std::string, uint64_t>& by_category, const std::string& key, nlohmann::json& out) {
  uint64_t busy = 0;
  for (const std::string& c : BusyCategories()) {
    if (auto it = by_category.find(c); it != by_category.end()) busy += it->second;
  }
  if (busy == 0) {
    for (const std::string& k : {key, key + "_stderr"}) {
      out[k] = nullptr;
      out[k + "_reason"] =
          "no busy samples in the window (the CPUs were idle, or the window was shorter than one period)";
    }
    return;
  }
  nlohmann::json shares = nlohmann::json::object(), stderrs = nlohmann::json::object();
  for (const std::string& c : BusyCategories()) {
    auto it = by_category.find(c);
    const double p = static_cast<double>(it != by_category.end() ? it->second : 0) / static_cast<double>(busy);
    shares[c] = p;
    stderrs[c] = std::sqrt(p * (1 - p) / static_cast<double>(busy));
  }
  out[key] = shares;
  out[key + "_stderr"] = stderrs;
}

}  // namespace

CpuProfileProbe::CpuProfileProbe(CpuProfileOptions options) : options_(std::move(options)) {}

CpuProfileProbe::~CpuProfileProbe() {
  events_.clear();  // links (and their perf fds) before the skeleton's programs
  skel_.reset();
}

std::unique_ptr<CpuProfileProbe> CpuProfileProbe::Open(const CpuProfileOptions& options) {
  std::unique_ptr<CpuProfileProbe> probe(new CpuProfileProbe(options));
  std::vector<int>& cpus = probe->options_.cpus;
  if (cpus.empty()) cpus = OnlineCpus();
  // A run lists its trials' CPUs once per trial: one event per CPU, or it samples twice.
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  if (auto status = probe->OpenEvents(); !status.ok()) {
    probe->events_.clear();
    probe->skel_.reset();
    probe->unavailable_reason_ = status.error().ToString();
  }
  return probe;
}

Status CpuProfileProbe::OpenEvents() {
  if (options_.frequency_hz <= 0) return Errorf("CPU profile frequency {} Hz: must be positive", options_.frequency_hz);
  if (const auto& table = CpuCategoryTable::Builtin(); !table.ok()) return table.error();
  errno = 0;
  cpu_profile_bpf* skel = cpu_profile_bpf::open(nullptr);
  if (skel == nullptr) return Error(errno != 0 ? errno : EINVAL, "open BPF skeleton cpu_profile");
  skel_ = std::shared_ptr<cpu_profile_bpf>(skel, cpu_profile_bpf::destroy);
  skel_->rodata->target_tgid = options_.target_tgid;
  {
    LibbpfLogCapture log;
    if (const int err = cpu_profile_bpf::load(skel); err != 0) {
      const std::string detail = log.Summary();
      const std::string what = fmt::format("load BPF object cpu_profile{}{}", detail.empty() ? "" : ": ", detail);
      return geteuid() != 0 ? Error(-err, "the CPU profile needs root (or CAP_BPF and CAP_PERFMON): " + what)
                            : Error(-err, what);
    }
  }
  for (int cpu : options_.cpus) {
    perf_event_attr attr{};
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    // A fixed period, not a frequency the kernel adapts: a window of t seconds gets
    // t x frequency samples per CPU, which is what the record's bounds assume.
    attr.sample_period = static_cast<uint64_t>(1e9 / options_.frequency_hz);
    attr.disabled = 1;
    const int fd = PerfEventOpen(&attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) return Errorf("{}", PerfOpenFailure(fmt::format("cpu-clock sampling on CPU {}", cpu), errno));
    errno = 0;
    bpf_link* link = bpf_program__attach_perf_event(skel_->progs.cpu_profile_sample, fd);
    if (link == nullptr || libbpf_get_error(link) != 0) {
      const int err = errno != 0 ? errno : EINVAL;
      ::close(fd);
      return Error(err, fmt::format("attach the CPU profile program to the cpu-clock event of CPU {}", cpu));
    }
    events_.push_back(Event{cpu, fd, UniqueBpfLink(link)});
    // libbpf enables the event on attach; it samples only inside windows.
    if (::ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) != 0)
      return SysError(fmt::format("disable the cpu-clock event of CPU {}", cpu));
  }
  return OkStatus();
}

Status CpuProfileProbe::Begin() {
  window_error_.clear();
  stacks_.clear();
  totals_.clear();
  for (const Event& e : events_) {
    if (::ioctl(e.fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
      window_error_ = SysError(fmt::format("enable the cpu-clock event of CPU {}", e.cpu)).ToString();
    }
  }
  return OkStatus();
}

Status CpuProfileProbe::End() {
  if (events_.empty()) return OkStatus();
  for (const Event& e : events_) {
    if (::ioctl(e.fd, PERF_EVENT_IOC_DISABLE, 0) != 0 && window_error_.empty()) {
      window_error_ = SysError(fmt::format("disable the cpu-clock event of CPU {}", e.cpu)).ToString();
    }
  }
  if (auto status = Drain(); !status.ok() && window_error_.empty()) window_error_ = status.error().ToString();
  return OkStatus();
}

Status CpuProfileProbe::Drain() {
  const size_t ncpus = static_cast<size_t>(PossibleCpus());
  std::set<int> sampled;
  for (const Event& e : events_) sampled.insert(e.cpu);

  // Per-CPU totals, then zeroed for the next window.
  const uint32_t zero = 0;
  std::vector<zcb_profile_totals> per_cpu_totals(ncpus);
  if (bpf_map__lookup_elem(skel_->maps.totals, &zero, sizeof zero, per_cpu_totals.data(),
                           per_cpu_totals.size() * sizeof(zcb_profile_totals), 0) != 0) {
    return SysError("read BPF map totals");
  }
  for (int cpu : sampled) {
    if (static_cast<size_t>(cpu) >= ncpus) continue;
    const zcb_profile_totals& t = per_cpu_totals[static_cast<size_t>(cpu)];
    totals_[cpu] = Totals{t.samples, t.stack_lost, t.count_lost};
  }
  std::fill(per_cpu_totals.begin(), per_cpu_totals.end(), zcb_profile_totals{});
  if (bpf_map__update_elem(skel_->maps.totals, &zero, sizeof zero, per_cpu_totals.data(),
                           per_cpu_totals.size() * sizeof(zcb_profile_totals), BPF_ANY) != 0) {
    return SysError("reset BPF map totals");
  }

  // Every (stack, flags) key with its per-CPU counts; the stacks they name.
  std::vector<zcb_profile_key> keys;
  zcb_profile_key key{}, next{};
  const zcb_profile_key* previous = nullptr;
  while (bpf_map__get_next_key(skel_->maps.counts, previous, &next, sizeof next) == 0) {
    key = next;
    previous = &key;
    keys.push_back(key);
  }
  std::vector<uint64_t> values(ncpus);
  std::vector<uint64_t> frames(ZCB_PROFILE_STACK_DEPTH);
  std::set<int32_t> stack_ids;
  for (const zcb_profile_key& k : keys) {
    if (bpf_map__lookup_elem(skel_->maps.counts, &k, sizeof k, values.data(), values.size() * sizeof(uint64_t), 0) !=
        0) {
      return SysError("read BPF map counts");
    }
    StackCount entry;
    entry.flags = k.flags;
    for (int cpu : sampled) {
      if (static_cast<size_t>(cpu) < ncpus && values[static_cast<size_t>(cpu)] != 0)
        entry.per_cpu[cpu] = values[static_cast<size_t>(cpu)];
    }
    if (k.kernel_stack_id >= 0) {
      stack_ids.insert(k.kernel_stack_id);
      const uint32_t id = static_cast<uint32_t>(k.kernel_stack_id);
      if (bpf_map__lookup_elem(skel_->maps.stacks, &id, sizeof id, frames.data(), frames.size() * sizeof(uint64_t),
                               0) == 0) {
        for (uint64_t address : frames) {
          if (address == 0) break;
          entry.addresses.push_back(address);
        }
      }
    }
    if (!entry.per_cpu.empty()) stacks_.push_back(std::move(entry));
  }
  // Emptied after every window: the stack map never fills up over a long run.
  for (const zcb_profile_key& k : keys) bpf_map__delete_elem(skel_->maps.counts, &k, sizeof k, 0);
  for (int32_t id : stack_ids) {
    const uint32_t u = static_cast<uint32_t>(id);
    bpf_map__delete_elem(skel_->maps.stacks, &u, sizeof u, 0);
  }
  return OkStatus();
}

void CpuProfileProbe::Report(const WindowSummary& summary, nlohmann::json& metrics) {
  const std::string reason = !unavailable_reason_.empty() ? unavailable_reason_ : window_error_;
  if (!reason.empty()) {
    metrics["cpu_profile"] = nullptr;
    metrics["cpu_profile_reason"] = reason;
    return;
  }
  if (!symbols_ && symbols_error_.empty()) {
    auto loaded = KernelSymbolTable::Load();
    if (loaded.ok()) {
      symbols_ = std::move(*loaded);
    } else {
      symbols_error_ = loaded.error().ToString();
    }
  }
  if (!symbols_) {
    metrics["cpu_profile"] = nullptr;
    metrics["cpu_profile_reason"] = "cannot name the sampled kernel functions: " + symbols_error_;
    return;
  }
  const CpuCategoryTable& table = *CpuCategoryTable::Builtin();

  std::map<std::string, uint64_t> by_category, in_process_by_category;
  for (const std::string& c : KernelCpuCategories()) by_category[c] = 0;
  by_category[kUserCategory] = 0;
  // (leaf function, category) -> samples: one leaf can stand for several categories (an
  // interrupt-enable point takes its caller's).
  std::map<std::pair<std::string, std::string>, uint64_t> by_leaf;
  uint64_t counted = 0, in_process = 0, idle_task = 0, irq_enable_point = 0;
  std::vector<std::string> names;
  for (const StackCount& s : stacks_) {
    uint64_t samples = 0;
    for (const auto& [cpu, n] : s.per_cpu) samples += n;
    counted += samples;
    if (s.flags & ZCB_PROFILE_IN_PROCESS) in_process += samples;
    if (s.flags & ZCB_PROFILE_IDLE_TASK) idle_task += samples;
    if (s.flags & ZCB_PROFILE_USER) {
      by_category[kUserCategory] += samples;
      if (s.flags & ZCB_PROFILE_IN_PROCESS) in_process_by_category[kUserCategory] += samples;
      continue;
    }
    names.clear();
    for (size_t i = 0; i < s.addresses.size(); ++i) {
      // Frames above the leaf are return addresses: the call is the byte before, which
      // is in the caller even when the call is a function's last instruction.
      names.push_back(symbols_->FunctionAt(i == 0 ? s.addresses[i] : s.addresses[i] - 1));
    }
    const StackCategory attribution = table.Categorize(names);
    const std::string category(attribution.category);
    if (attribution.leaf_passed_to_caller && category != kIdleCategory) irq_enable_point += samples;
    by_category[category] += samples;
    if (s.flags & ZCB_PROFILE_IN_PROCESS) in_process_by_category[category] += samples;
    if (!names.empty() && category != kIdleCategory) by_leaf[{names.front(), category}] += samples;
  }

  nlohmann::json out = nlohmann::json::object();
  out["source"] = kSource;
  out["event"] = "cpu-clock";
  out["frequency_hz"] = options_.frequency_hz;
  out["period_ns"] = static_cast<uint64_t>(1e9 / options_.frequency_hz);
  std::vector<int> cpus;
  uint64_t samples = 0, stack_lost = 0, count_lost = 0;
  nlohmann::json per_cpu = nlohmann::json::object();
  for (const auto& [cpu, t] : totals_) {
    cpus.push_back(cpu);
    per_cpu[std::to_string(cpu)] = t.samples;
    samples += t.samples;
    stack_lost += t.stack_lost;
    count_lost += t.count_lost;
  }
  out["cpus"] = cpus;
  out["samples"] = samples;
  out["samples_per_cpu"] = per_cpu;
  out["expected_samples"] = summary.elapsed_s * options_.frequency_hz * static_cast<double>(cpus.size());
  out["lost_samples"] = stack_lost + count_lost;
  out["lost_detail"] = {{"stack_not_stored", stack_lost}, {"count_map_full", count_lost}};
  // Samples counted in the maps but not in the totals (or the reverse) would mean the
  // maps were read while the program ran: say so rather than hide it.
  out["counted_samples"] = counted;

  const uint64_t idle = by_category[std::string(kIdleCategory)];
  const uint64_t busy = counted - idle;
  nlohmann::json by_category_json = nlohmann::json::object();
  for (const auto& [c, n] : by_category) by_category_json[c] = n;
  out["samples_by_category"] = by_category_json;
  out["busy_samples"] = busy;
  out["idle_samples"] = idle;
  out["user_samples"] = by_category[kUserCategory];
  out["idle_task_samples"] = idle_task;
  out["in_process_samples"] = in_process;
  // Busy samples taken where interrupts were enabled again, charged to the caller
  // (cpu_categories.tsv): how much of the profile stands for interrupts-off regions.
  out["irq_enable_point_samples"] = irq_enable_point;
  out["idle_share"] =
      counted > 0 ? nlohmann::json(static_cast<double>(idle) / static_cast<double>(counted)) : nlohmann::json(nullptr);
  PutShares(by_category, "shares", out);
  // The same over the samples in which the trial process was current: its threads and
  // the softirqs that interrupted them, without the other processes that ran on the
  // sampled CPUs (a shared machine).
  PutShares(in_process_by_category, "in_process_shares", out);

  std::vector<std::pair<std::pair<std::string, std::string>, uint64_t>> leaves(by_leaf.begin(), by_leaf.end());
  std::sort(leaves.begin(), leaves.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (leaves.size() > kTopFunctions) leaves.resize(kTopFunctions);
  nlohmann::json top = nlohmann::json::array();
  for (const auto& [leaf, samples] : leaves) {
    top.push_back({{"function", leaf.first}, {"category", leaf.second}, {"samples", samples}});
  }
  out["top_functions"] = top;
  out["attribution"] = kAttribution;
  out["categories_table"] = kTable;
  out["categories_rules"] = table.rule_count();
  metrics["cpu_profile"] = out;
}

}  // namespace zcb
