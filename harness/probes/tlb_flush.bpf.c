// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tlb:tlb_flush, counted per reason: how often the TLB was flushed, for which reason
 * (task switch, remote shootdown received, local shootdown, IPI sent, ...), and how many
 * pages the ranged flushes covered. Each is counted system-wide, in the trial process's
 * context, and on one of the trial's own threads (the CPU's current task when the event
 * fires: the sender of a shootdown, or the task a remote shootdown interrupted).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/tlb_flush.h"
#include "harness/probes/trial_threads.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZCB_TLB_REASON_SLOTS);
	__type(key, __u32);
	__type(value, struct zcb_tlb_counts);
} tlb_counts SEC(".maps");

SEC("raw_tp/tlb_flush")
int BPF_PROG(count_tlb_flush, int reason, unsigned long pages)
{
	__u32 slot = ZCB_TLB_REASON_SLOTS - 1;
	struct zcb_tlb_counts *c;

	if (reason >= 0 && reason < ZCB_TLB_REASON_SLOTS - 1)
		slot = reason;
	c = bpf_map_lookup_elem(&tlb_counts, &slot);
	if (!c)
		return 0;
	c->count++;
	if (pages == ZCB_TLB_FLUSH_ALL)
		c->full_flushes++;
	else
		c->pages += pages;
	if (in_target_process())
		c->count_in_process++;
	if (in_trial_thread())
		c->count_in_trial++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
