#pragma once

// The `siblings` axis of a trial: N threads of the sender's process that run on other CPUs
// while the sender works (stack/sibling_thread.h says what a spinning and a sleeping one
// do to the TLB shootdowns of munmap and page pinning). The trial runner starts them
// before its sender and receiver threads and stops them once the window has closed.
//
// Placement policy, one sibling per CPU: the CPUs this process may run on other than the
// sender's and the receiver's, in increasing order; then the receiver's CPU, and only when
// no other is left (a 2-CPU machine: siblings = 1 shares the receiver's CPU, and says so
// per sibling). Never the sender's CPU. More siblings than CPUs besides the sender's is
// `unsupported`, with the count asked for and the CPUs there are.

#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/trial/trial_resolve.h"
#include "stack/sibling_thread.h"

namespace zcb {

// The CPUs for `count` siblings by the policy above. `allowed`: the CPUs the process may run
// on. Unsupported when there are too few; a usage error when siblings are asked for with an
// unpinned sender (the policy must know which CPU to avoid).
Result<std::vector<int>> PlaceSiblings(int count, std::optional<int> sender_cpu, std::optional<int> receiver_cpu,
                                       const std::vector<int>& allowed);

class SiblingThreads {
 public:
  // Places and starts `spec.siblings` threads (none: nothing runs). Each runs on its CPU
  // when this returns.
  static Result<std::unique_ptr<SiblingThreads>> Start(const TrialSpec& spec);
  ~SiblingThreads() { Stop(); }

  // Stops them (idempotent); their CPU time is then final.
  void Stop();

  // params.siblings: count, mode, the policy, the CPUs and per sibling its CPU, whether it
  // shares the receiver's CPU, its thread id and CPU time.
  nlohmann::json ToJson() const;

 private:
  struct Sibling {
    int cpu = -1;
    bool shares_receiver_cpu = false;
    SiblingThread thread;
  };
  nlohmann::json asked_;  // SiblingsAsked
  std::vector<std::unique_ptr<Sibling>> siblings_;
};

// params.siblings before any sibling started (as asked; "cpus" empty): what a record that
// failed before the siblings were placed says.
nlohmann::json SiblingsAsked(const TrialSpec& spec);

}  // namespace zcb
