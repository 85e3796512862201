// Interrupt counts from /proc/interrupts, read around a benchmark run.
//
// The "TLB" row (x86: "TLB shootdowns") counts the flush requests each CPU received from
// another CPU, system-wide: it includes other processes' shootdowns, and it misses flushes
// the hypervisor performs for a preempted vCPU without an interrupt (KVM's paravirtual
// flush), so in a VM it is a lower bound. The tlb:tlb_flush tracepoint is exact, but needs
// BPF; this counter needs nothing.

#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace zcb::micro {

// The sum over CPUs of the row whose name (before the colon) is `row`, e.g. "TLB";
// nullopt when /proc/interrupts has no such row or cannot be read.
std::optional<uint64_t> InterruptTotal(std::string_view row);

// The same from the text of a /proc/interrupts file.
std::optional<uint64_t> InterruptTotalIn(std::string_view proc_interrupts, std::string_view row);

}  // namespace zcb::micro
