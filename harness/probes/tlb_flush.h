/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by tlb_flush.bpf.c and its loader. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/*
 * Reason numbers index the per-CPU array; their names come from the running kernel's
 * tracepoint format at run time (they differ between kernel versions). A reason beyond
 * the table is counted in the last slot.
 */
#define ZCB_TLB_REASON_SLOTS 16

/* tlb_flush's `pages` argument for a flush of the whole address space. */
#define ZCB_TLB_FLUSH_ALL (~0UL)

struct zcb_tlb_counts {
	__u64 count;            /* tlb_flush events */
	__u64 pages;            /* pages of the ranged flushes */
	__u64 full_flushes;     /* flushes of everything (pages == TLB_FLUSH_ALL) */
	__u64 count_in_process; /* events in the context of the target process */
	__u64 count_in_trial;   /* events on one of the trial's threads (trial_threads.bpf.h) */
};
