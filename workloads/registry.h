#pragma once

// The workload registry: every workload is listed once, here, by its WorkloadInfo (in the
// manner of the strategy registry, stack/registry.h).

#include <map>
#include <memory>
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

// The workload called `name` made with the options `given` (checked against its
// declarations): what a receiving end on another host makes of a trial's request to
// learn what its receiver is to expect.
Result<std::unique_ptr<Workload>> CreateWorkload(std::string_view name,
                                                 const std::map<std::string, std::string>& given);

}  // namespace zcb
