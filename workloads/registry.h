#pragma once

// The workload registry: every workload is listed once, here, by its WorkloadInfo (in the
// manner of the strategy registry, stack/registry.h).

#include <string>
#include <string_view>
#include <vector>

#include "stack/result.h"
#include "workloads/workload.h"

namespace zcb {

// All workloads, in the order `zcbench list workloads` prints them.
const std::vector<WorkloadInfo>& AllWorkloads();

// The workload called `name`, or an error that lists the valid names.
Result<const WorkloadInfo*> FindWorkload(std::string_view name);

// The registered names, in order.
std::vector<std::string> WorkloadNames();

}  // namespace zcb
