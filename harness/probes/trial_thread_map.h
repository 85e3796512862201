#pragma once

// The BPF hash map of the trial's thread IDs (trial_threads.bpf.h) that every skeleton
// shares: created once by the eBPF probe, refilled with the sender's and receiver's TIDs
// as each measured window opens.

#include <vector>

#include "stack/result.h"
#include "stack/unique_fd.h"

namespace zcb {

class TrialThreadMap {
 public:
  static Result<TrialThreadMap> Create();
  int fd() const { return fd_.get(); }
  // Replaces the map's contents with `tids` (at most ZCB_TRIAL_THREADS_MAX).
  Status Set(const std::vector<int>& tids);

 private:
  UniqueFd fd_;
};

// The CPUs any of `tids` may run on (the union of their affinity masks); every online CPU
// when none can be read.
std::vector<int> CpusOfThreads(const std::vector<int>& tids);

}  // namespace zcb
