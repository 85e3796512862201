#pragma once

// A CPU quota for one thread (the sender's), to emulate a slow embedded CPU: a cgroup
// with a CFS bandwidth limit, quota/period of one CPU. cgroup v2 (`cpu.max`) where the
// unified hierarchy has the cpu controller, else cgroup v1 (`cpu.cfs_quota_us`,
// `cpu.cfs_period_us`). The cgroup is named zcb-<pid>-<seq>-sender, removed by the
// destructor (after moving its threads back where they came from) and by the signal
// handler of drivers/live_objects.h.
//
// cgroup v1 moves a single thread by writing its tid to `tasks`. cgroup v2 moves threads
// only inside a threaded subtree: the process moves into a domain cgroup of its own
// (zcb-<pid>-<seq>) whose child `sender` is threaded and limited, and the sender thread
// moves into that child; at the end the process moves back. (A signal's emergency
// teardown cannot move a dying process home; `zcbench cleanup` removes the then empty
// cgroup afterwards.)

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/result.h"

namespace zcb {

// Where the cpu controller is, as found in /proc/self/mountinfo.
struct CpuControllerMount {
  int version = 0;          // 1 or 2; 0: none
  std::string mount_point;  // /sys/fs/cgroup/cpu (v1), /sys/fs/cgroup (v2)
};
// The v2 hierarchy when its cpu controller is available, else the v1 cpu hierarchy.
Result<CpuControllerMount> FindCpuController();

class CpuQuota {
 public:
  // `fraction` of one CPU per period (0.2: 20 ms every 100 ms).
  static Result<std::unique_ptr<CpuQuota>> Create(double fraction);
  ~CpuQuota();
  CpuQuota(const CpuQuota&) = delete;
  CpuQuota& operator=(const CpuQuota&) = delete;

  // Moves the calling thread into the limited cgroup (the sender threads of parallel
  // streams call it at the same time: they share the quota).
  Status AddCallingThread();

  // What was set (version, cgroup, quota and period) and what the kernel counted:
  // periods, throttled periods, throttled time (cpu.stat).
  nlohmann::json Report() const;

 private:
  CpuQuota() = default;
  Status SetUpV1(const std::string& id);
  Status SetUpV2(const std::string& id);

  CpuControllerMount mount_;
  double fraction_ = 0;
  uint64_t period_us_ = 100'000;
  uint64_t quota_us_ = 0;
  std::string home_;     // the cgroup the process (v2) or thread (v1) came from
  std::string domain_;   // v2: the process's own domain cgroup
  std::string limited_;  // the cgroup with the quota
  int domain_slot_ = -1, limited_slot_ = -1;
  bool enabled_cpu_in_home_ = false;
  mutable std::mutex threads_mutex_;  // threads_ is added to from each sender thread
  std::vector<pid_t> threads_;
};

}  // namespace zcb
