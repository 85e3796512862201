/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by ipi.bpf.c and its loader. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Callbacks (the function an IPI asks the target CPU to run) tracked by address. */
#define ZCB_IPI_MAX_CALLBACKS 256
/* The widest CPU mask read from ipi_send_cpumask, in 64-bit words (4096 CPUs). */
#define ZCB_IPI_MAX_MASK_WORDS 64

struct zcb_ipi_counts {
	__u64 send_cpu;              /* ipi:ipi_send_cpu events (one target each) */
	__u64 send_cpumask;          /* ipi:ipi_send_cpumask events */
	__u64 targets;               /* CPUs interrupted by those sends */
	__u64 sends_in_process;      /* sends from the target process's context */
	__u64 targets_in_process;
	__u64 sends_in_trial;        /* sends from one of the trial's threads */
	__u64 targets_in_trial;
	__u64 call_function;         /* irq_vectors:call_function_entry (IPIs handled) */
	__u64 call_function_single;  /* irq_vectors:call_function_single_entry */
	__u64 handled_in_process;    /* of those, handled while the target process ran */
	__u64 callback_overflow;     /* sends whose callback did not fit the callback map */
};

struct zcb_ipi_callback_counts {
	__u64 sends;
	__u64 targets;
	__u64 sends_in_process;
	__u64 sends_in_trial;
	__u64 targets_in_trial;
};

/* Cross-CPU function calls queued (csd:csd_queue_cpu), per function. */
struct zcb_csd_function_counts {
	__u64 queued;
	__u64 queued_in_process;
	__u64 queued_in_trial;
};
