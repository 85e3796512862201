#pragma once

// Memory bandwidth monitoring through resctrl (Intel RDT MBM, AMD PQoS): where the
// resctrl filesystem is mounted and monitors mbm_total_bytes, the bytes every L3
// domain moved to and from memory, for the whole machine (the sum over the root group
// and every control group; a control group's count includes its monitor groups).

#include <cstdint>
#include <string>
#include <vector>

#include "stack/result.h"

namespace zcb {

class ResctrlMbm {
 public:
  // Finds resctrl in `mounts` (a /proc/self/mounts file) with mbm_total_bytes among
  // its monitoring features. The error says why it cannot be used.
  static Result<ResctrlMbm> Discover(const std::string& mounts = "/proc/self/mounts");
  // The same on a given resctrl root (tests).
  static Result<ResctrlMbm> AtRoot(const std::string& root);

  // Sum of mbm_total_bytes over all groups and L3 domains now.
  Result<uint64_t> TotalBytes() const;
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::vector<std::string> counter_files_;
};

}  // namespace zcb
