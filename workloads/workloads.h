#pragma once

// The WorkloadInfo of each workload, one per file; listed once in AllWorkloads()
// (workloads/registry.cc).

#include "workloads/workload.h"

namespace zcb {

WorkloadInfo BulkWorkloadInfo();
WorkloadInfo RequestResponseWorkloadInfo();
WorkloadInfo FileServingWorkloadInfo();
WorkloadInfo HttpResponseWorkloadInfo();

}  // namespace zcb
