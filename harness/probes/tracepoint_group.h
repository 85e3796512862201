#pragma once

// The loader side shared by the BPF skeletons (libbpf-tools style: open, configure,
// load, attach; per-CPU maps; clean detach). A TracepointGroup is one skeleton: a few
// programs, each attached to one raw tracepoint, and the per-CPU maps they count into,
// read at both edges of the measured window.
//
// A program whose tracepoint the kernel lacks is not loaded (autoload off) and records
// why; the group's other programs still load and attach. The same happens when a
// tracepoint is "simulated missing" (tests, and measuring one probe's effect alone).

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/probes/tracepoint_catalog.h"
#include "harness/probes/window_probe.h"
#include "stack/result.h"

namespace zcb {

struct BpfLinkDeleter {
  void operator()(bpf_link* link) const { bpf_link__destroy(link); }
};
using UniqueBpfLink = std::unique_ptr<bpf_link, BpfLinkDeleter>;

// One program and the raw tracepoint it counts.
struct TracepointProgram {
  std::string tracepoint;  // "tlb:tlb_flush"
  bpf_program* program = nullptr;
  UniqueBpfLink link;
  std::string reason;  // why it is not attached; empty when it is

  bool attached() const { return link != nullptr; }
  std::string name() const { return program != nullptr ? bpf_program__name(program) : ""; }
  // The event name after the colon ("tlb_flush"): the raw tracepoint's name.
  std::string event() const;
};

struct GroupConfig {
  const TracepointCatalog* catalog = nullptr;
  // Tracepoints ("group:name") to treat as absent from the kernel.
  std::set<std::string> simulate_missing;
  // The process whose events are also counted separately (the trial's).
  uint32_t target_tgid = 0;
  // The map of the trial's thread IDs every skeleton shares (trial_threads.bpf.h), or -1:
  // each skeleton then keeps its own empty map and only io_uring workers are the trial's.
  int trial_threads_fd = -1;
};

// Makes a skeleton's trial_threads map the one shared through `config` (before load).
Status ShareTrialThreads(bpf_map* map, const GroupConfig& config);

// The number of possible CPUs (per-CPU map values come in this many copies).
int PossibleCpus();

// a + sign * b, counter by counter, for structs made only of __u64 counters (the
// values of the BPF maps). Copied through arrays: no type punning.
template <typename T>
T CounterCombine(const T& a, const T& b, int sign) {
  static_assert(sizeof(T) % sizeof(__u64) == 0, "BPF map values are structs of __u64 counters");
  constexpr size_t kWords = sizeof(T) / sizeof(__u64);
  __u64 x[kWords], y[kWords];
  std::memcpy(x, &a, sizeof x);
  std::memcpy(y, &b, sizeof y);
  for (size_t i = 0; i < kWords; ++i) x[i] = sign >= 0 ? x[i] + y[i] : x[i] - y[i];
  T out;
  std::memcpy(&out, x, sizeof out);
  return out;
}

// One element of a per-CPU map (array or hash): its value on each possible CPU.
template <typename K, typename V>
Result<std::vector<V>> PerCpuValues(const bpf_map* map, const K& key) {
  std::vector<V> values(static_cast<size_t>(PossibleCpus()));
  if (bpf_map__lookup_elem(map, &key, sizeof key, values.data(), values.size() * sizeof(V), 0) != 0) {
    return SysError(fmt::format("read BPF map {}", bpf_map__name(map)));
  }
  return values;
}

// Sums one element of a per-CPU map (array or hash) over all CPUs. V is a struct of
// __u64 counters.
template <typename K, typename V>
Result<V> SumPerCpuValue(const bpf_map* map, const K& key) {
  ZCB_ASSIGN_OR_RETURN(const std::vector<V> values, (PerCpuValues<K, V>(map, key)));
  V sum{};
  for (const V& value : values) sum = CounterCombine(sum, value, 1);
  return sum;
}

// Every entry of a per-CPU hash map, summed over CPUs.
template <typename K, typename V>
Result<std::vector<std::pair<K, V>>> SumPerCpuHash(const bpf_map* map) {
  std::vector<std::pair<K, V>> out;
  K key{}, next{};
  const K* previous = nullptr;
  while (bpf_map__get_next_key(map, previous, &next, sizeof next) == 0) {
    key = next;
    previous = &key;
    auto value = SumPerCpuValue<K, V>(map, key);
    if (value.ok()) out.emplace_back(key, *value);  // an entry deleted meanwhile is skipped
  }
  return out;
}

// after - before, counter by counter (the window's delta of a struct of __u64 counters).
template <typename T>
T CounterDelta(const T& after, const T& before) {
  return CounterCombine(after, before, -1);
}

class TracepointGroup {
 public:
  virtual ~TracepointGroup() = default;

  // The skeleton's name ("tlb_flush").
  const std::string& name() const { return name_; }
  std::vector<TracepointProgram>& programs() { return programs_; }
  const std::vector<TracepointProgram>& programs() const { return programs_; }
  // True when at least one program is attached.
  bool any_attached() const;
  // Why the group as a whole could not load (empty when it loaded).
  const std::string& load_error() const { return load_error_; }

  // Before the window's start snapshot: the CPUs the trial's threads may run on (the
  // union of their affinity masks), for a group that counts work done on them.
  virtual void WatchTrialCpus(const std::vector<int>& cpus) { (void)cpus; }
  // Reads the maps at the window's start (`end` false) or end. Failures are kept and
  // reported; they do not stop the trial.
  virtual void Snapshot(bool end) = 0;
  // Adds the window's counts to `probes` (the record's metrics.probes object).
  virtual void Report(const WindowSummary& summary, nlohmann::json& probes) = 0;

 protected:
  explicit TracepointGroup(std::string name) : name_(std::move(name)) {}

  // Opens a bpftool-generated skeleton owned by the group: destroyed (maps and
  // programs closed) after the links are, on every exit path.
  template <typename Skel>
  Result<Skel*> OpenSkeleton() {
    errno = 0;
    Skel* skel = Skel::open(nullptr);
    if (skel == nullptr) return Error(errno != 0 ? errno : EINVAL, fmt::format("open BPF skeleton {}", name_));
    object_ = std::shared_ptr<void>(skel, [](void* p) { Skel::destroy(static_cast<Skel*>(p)); });
    return skel;
  }

  // Declares the programs (program -> tracepoint), turns off those whose tracepoint is
  // missing, loads the object with `load` (the skeleton's load), attaches the rest.
  // Fails only when the object cannot be loaded at all.
  Status LoadAndAttach(const std::vector<std::pair<bpf_program*, std::string>>& programs, const GroupConfig& config,
                       const std::function<int()>& load);

  // The program attached to `tracepoint`, or null.
  const TracepointProgram* ProgramFor(std::string_view tracepoint) const;
  // Writes `key: null` and `key_reason` into `out` when the tracepoint's program is not
  // attached; returns true when it is attached (the caller then writes the value).
  bool Available(std::string_view tracepoint, const std::string& key, nlohmann::json& out) const;

  std::string snapshot_error_;

 private:
  std::string name_;
  std::shared_ptr<void> object_;  // the skeleton; outlives the links below
  std::vector<TracepointProgram> programs_;
  std::string load_error_;
};

// Captures libbpf's warnings while an object loads, so that a failure can say why
// instead of printing to stderr.
class LibbpfLogCapture {
 public:
  LibbpfLogCapture();
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;
  // The last few lines libbpf logged at warning level.
  std::string Summary() const;

 private:
  libbpf_print_fn_t previous_;
};

// The body of every group's Open*Group factory: a `Group` (a TracepointGroup with
// `Status Open(const GroupConfig&)`) made and opened, or the reason it could not be.
template <typename Group>
Result<std::unique_ptr<TracepointGroup>> MakeOpenedGroup(const GroupConfig& config) {
  auto group = std::make_unique<Group>();
  ZCB_RETURN_IF_ERROR(group->Open(config));
  return std::unique_ptr<TracepointGroup>(std::move(group));
}

}  // namespace zcb
