/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by cpu_profile.bpf.c and its loader (cpu_profile_probe.cc). */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Kernel frames kept per sample (the stack map's value size is this many addresses). */
#define ZCB_PROFILE_STACK_DEPTH 64
/*
 * Distinct kernel stacks a window can hold; the maps are emptied after every window. The
 * stack map is a hash table without chaining: a stack whose bucket another stack holds
 * is not stored (its samples are `stack_lost`), so it is sized well above the few
 * hundred distinct stacks of a busy second (16384 x 512 bytes, as libbpf-tools' profile).
 */
#define ZCB_PROFILE_MAX_STACKS 16384

/* What the sampled CPU was doing besides its kernel stack. */
#define ZCB_PROFILE_USER 1u        /* interrupted in user mode: no kernel stack */
#define ZCB_PROFILE_IDLE_TASK 2u   /* the current task was the CPU's idle task (pid 0) */
#define ZCB_PROFILE_IN_PROCESS 4u  /* the current task belongs to the trial process */

struct zcb_profile_key {
	__s32 kernel_stack_id;    /* stack map id; -1 for user-mode samples */
	__u32 flags;              /* ZCB_PROFILE_* */
};

/* Per-CPU totals, including samples whose stack could not be kept. */
struct zcb_profile_totals {
	__u64 samples;            /* every sample the perf event delivered to the program */
	__u64 stack_lost;         /* kernel stack not stored (its bucket held another stack) */
	__u64 count_lost;         /* counts map full: the sample is in `samples` only */
};
