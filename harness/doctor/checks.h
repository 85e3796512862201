#pragma once

// The areas of the doctor's checklist, one file each; CheckHostSupport (checklist.cc)
// runs them in the order the checklist prints them.

#include <cstdint>
#include <string>
#include <vector>

#include "harness/doctor/checklist.h"
#include "harness/probes/tracepoint_catalog.h"

namespace zcb::doctor {

// The first line of a file; empty when it cannot be read.
std::string ReadLine(const std::string& path);

// The process's effective capabilities (CapEff of /proc/self/status), a bit per CAP_*.
uint64_t EffectiveCapabilities();

// root and each capability zcbench uses (privilege_checks.cc).
std::vector<SupportCheck> PrivilegeChecks(uint64_t caps);
// BTF, the BPF program types, kprobes, fentry, run-time statistics, tracefs, kernel
// symbol addresses (bpf_checks.cc).
std::vector<SupportCheck> BpfChecks(const TracepointCatalog& catalog);
// Each tracepoint the probes attach to, whether it exists and whether the probe program
// attaches (tracepoint_checks.cc).
std::vector<SupportCheck> TracepointChecks(const TracepointCatalog& catalog);
// Hardware counters, the CPU profile, memory-traffic sources (measurement_checks.cc).
std::vector<SupportCheck> MeasurementChecks();
// io_uring opcodes and SO_ZEROCOPY (zero_copy_checks.cc).
std::vector<SupportCheck> ZeroCopyChecks();
// The locked-memory limit, net.core.optmem_max, perf_event_paranoid (limit_checks.cc).
std::vector<SupportCheck> LimitChecks(uint64_t caps);

}  // namespace zcb::doctor
