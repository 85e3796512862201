#pragma once

// The eBPF groups (tracepoint_groups.h), what each is for, whether it is in the default
// probe set, and what it cost as measured by workloads/bench/probe_overhead.py: a group
// that costs more than the budget (2% goodput, 3% CPU per KiB on loopback for write 4K
// and 64K and mmap_write 16K) is off by default and loaded only on request (--probes all
// or its name). `zcbench help probes` prints this table.

#include <vector>

namespace zcb {

struct EbpfGroupCost {
  const char* name;
  bool on_by_default;
  const char* feeds;  // the record fields and figures that need it
  const char* cost;   // the measured cost, or why it is off
};

const std::vector<EbpfGroupCost>& EbpfGroupCosts();

}  // namespace zcb
