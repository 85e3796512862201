#include "harness/probes/trial_thread_map.h"

#include <bpf/bpf.h>
#include <sched.h>

#include <cstdint>

#include <fmt/format.h>

#include "harness/probes/perf_counters.h"
#include "harness/probes/tracepoint_group.h"
#include "harness/probes/trial_threads.h"

namespace zcb {

Result<TrialThreadMap> TrialThreadMap::Create() {
  const int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "trial_threads", sizeof(uint32_t), sizeof(uint8_t),
                                ZCB_TRIAL_THREADS_MAX, nullptr);
  if (fd < 0) return Error(-fd, "create the BPF map of the trial's threads");
  TrialThreadMap map;
  map.fd_.Reset(fd);
  return map;
}

Status TrialThreadMap::Set(const std::vector<int>& tids) {
  if (tids.size() > ZCB_TRIAL_THREADS_MAX) {
    return Errorf("{} trial threads; the trial-threads map holds {}", tids.size(), ZCB_TRIAL_THREADS_MAX);
  }
  // Empty it first: last window's threads have exited, and their TIDs may be reused.
  uint32_t key = 0, next = 0;
  while (bpf_map_get_next_key(fd(), nullptr, &next) == 0) {
    key = next;
    if (bpf_map_delete_elem(fd(), &key) != 0) return SysError("empty the trial-threads map");
  }
  const uint8_t present = 1;
  for (int tid : tids) {
    key = static_cast<uint32_t>(tid);
    if (bpf_map_update_elem(fd(), &key, &present, BPF_ANY) != 0)
      return SysError(fmt::format("add thread {} to the trial-threads map", tid));
  }
  return OkStatus();
}

std::vector<int> CpusOfThreads(const std::vector<int>& tids) {
  std::vector<bool> seen(static_cast<size_t>(PossibleCpus()), false);
  bool any = false;
  for (int tid : tids) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(tid, sizeof set, &set) != 0) continue;
    any = true;
    for (size_t cpu = 0; cpu < seen.size() && cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) seen[cpu] = true;
    }
  }
  if (!any) return OnlineCpus();
  std::vector<int> cpus;
  for (size_t cpu = 0; cpu < seen.size(); ++cpu) {
    if (seen[cpu]) cpus.push_back(static_cast<int>(cpu));
  }
  return cpus;
}

}  // namespace zcb
