#pragma once

// The checklist `zcbench doctor` prints: what this machine supports for zcbench, checked
// by trying it: the kernel, privilege and capabilities, BPF and BTF, each probe tracepoint
// (and whether the probes' programs load and attach), kprobes and fentry (which zcbench
// does not need), hardware and memory-controller counters, resctrl, io_uring opcodes,
// SO_ZEROCOPY, the locked-memory limit and net.core.optmem_max. Each missing piece says
// what it disables. One file per area (checks.h); this is the list and its JSON.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace zcb {

struct SupportCheck {
  std::string area;  // "privilege", "bpf", "tracepoint", "counters", "memory", "io_uring", ...
  std::string name;  // "root", "BTF", "tlb:tlb_flush", "SEND_ZC", ...
  bool ok = false;
  std::string detail;    // what was found
  std::string disables;  // what the missing piece turns off (empty when ok)
};

std::vector<SupportCheck> CheckHostSupport();

nlohmann::json SupportChecksJson(const std::vector<SupportCheck>& checks);

}  // namespace zcb
