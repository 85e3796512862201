/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by softirq_time.bpf.c and its loader. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/*
 * Softirq vector numbers index the per-CPU array; their names (NET_RX, NET_TX, ...) come
 * from the running kernel's tracepoint format at run time.
 */
#define ZCB_SOFTIRQ_SLOTS 16

struct zcb_softirq_start {
	__u64 ts;                 /* bpf_ktime_get_ns() at softirq_entry; 0 when not inside one */
	__u32 vec;
	__u32 on_trial_thread;    /* the interrupted task is one of the trial's threads */
	__u32 for_trial;          /* this run was raised by the trial (softirq_time.bpf.c) */
	__u32 raised_by_trial;    /* bit per vector: raised by the trial since its last run here */
};

struct zcb_softirq_counts {
	__u64 count;              /* softirq_exit events matched with their entry */
	__u64 ns;                 /* time between entry and exit */
	__u64 count_trial_elsewhere; /* of those, raised by the trial and run on another task */
	__u64 ns_trial_elsewhere;
};
