#pragma once

// A lower memory ceiling through resctrl memory-bandwidth allocation (Intel RDT MBA, AMD
// PQoS bandwidth enforcement): a resctrl control group whose `MB` schemata line caps the
// memory bandwidth of its tasks at a percentage, in every MB domain (one per L3 cache).
// The group is named zcb-<pid>-<seq>-membw, holds the trial's controlling thread (the
// threads it then starts, sender, receiver and siblings, inherit the group on clone), and
// is removed at the end, by the destructor (its tasks go back to the root group) and by the
// signal handler of drivers/live_objects.h; `zcbench cleanup` finds the ones a killed run
// left (drivers/leftovers.h).
//
// A host without MB (no resctrl in the kernel, a CPU without RDT, a VM that does not pass
// it through) gets `unsupported` with the reason: there the memory-bandwidth antagonist
// (drivers/membw_antagonist.h) is the emulation of a memory-starved host.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stack/result.h"

namespace zcb {

inline constexpr const char* kResctrlMountPoint = "/sys/fs/resctrl";

// What a resctrl root offers for MB, read from its info/MB directory and root schemata.
struct MemoryBandwidthAllocation {
  std::string root;             // the resctrl mount point
  std::vector<int> domains;     // the MB domain ids of the root group's schemata line
  int min_percent = 0;          // info/MB/min_bandwidth: the lowest value the kernel takes
  int granularity_percent = 0;  // info/MB/bandwidth_gran: the kernel rounds up to a multiple
  std::string delay_linear;     // info/MB/delay_linear: "1" linear throttling, "0" non-linear
  bool mounted_here = false;    // this process mounted resctrl (it stays mounted)
};

// Where resctrl is mounted and with which options, per `mounts` (a /proc/self/mounts
// file); nullopt: nowhere.
struct ResctrlMount {
  std::string dir;
  std::string options;
};
std::optional<ResctrlMount> FindResctrlMount(const std::string& mounts = "/proc/self/mounts");

// The MB resource of this host: resctrl as mounted, or when it is not mounted but the
// kernel has it (/proc/filesystems) and `mount_if_needed`, mounted at /sys/fs/resctrl
// (root). The error is `unsupported` and says why there is none.
Result<MemoryBandwidthAllocation> FindMemoryBandwidthAllocation(bool mount_if_needed);
// The MB resource of the resctrl tree at `root` (a test's fake tree in a temp directory).
Result<MemoryBandwidthAllocation> MemoryBandwidthAllocationAt(const std::string& root);

class ResctrlGroup {
 public:
  // Creates the group under `mb.root` with "MB:<domain>=<percent>" for every domain, and
  // moves the calling thread into it. `percent` below the host's minimum is unsupported.
  static Result<std::unique_ptr<ResctrlGroup>> Create(const MemoryBandwidthAllocation& mb, int percent);
  ~ResctrlGroup();
  ResctrlGroup(const ResctrlGroup&) = delete;
  ResctrlGroup& operator=(const ResctrlGroup&) = delete;

  // Moves a thread (its kernel id) into the group.
  Status AddThread(pid_t tid);
  const std::string& dir() const { return dir_; }

  // The record's constraints.membw_limit: root, group, the percent asked for, the schemata
  // written and read back (what the kernel applied, rounded to its granularity), the
  // threads moved in.
  nlohmann::json Report() const;

 private:
  ResctrlGroup() = default;

  MemoryBandwidthAllocation mb_;
  int percent_ = 0;
  std::string dir_;
  std::string schemata_written_;
  std::string schemata_applied_;
  std::vector<pid_t> threads_;
  int slot_ = -1;
};

}  // namespace zcb
