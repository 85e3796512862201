/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The trial's own threads, for the programs that attribute events to the trial rather than
 * to the whole process (which also runs zcbench's controlling thread and its helper threads:
 * the memory-bandwidth antagonist, the bandwidth co-runner).
 *
 * A thread is the trial's when its TID is in trial_threads (the sender and the receiver,
 * written by the loader as each window opens), or when it is an io_uring worker (io-wq or
 * SQPOLL: PF_IO_WORKER) of the target process: zcbench's helpers never use io_uring, so
 * every such worker works for the trial's rings. Workers need no entry: they appear and go
 * during a window.
 *
 * Cost: one hash lookup, and one task flag read for the process's other threads only.
 */
#pragma once

#include <bpf/bpf_core_read.h>

#include "harness/probes/process_filter.bpf.h"
#include "harness/probes/trial_threads.h"

/* One map per skeleton; the loader makes them all share one map (bpf_map__reuse_fd). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZCB_TRIAL_THREADS_MAX);
	__type(key, __u32);
	__type(value, __u8);
} trial_threads SEC(".maps");

static __always_inline bool in_trial_thread(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct task_struct *task;

	if (target_tgid == 0 || (id >> 32) != target_tgid)
		return false;
	if (bpf_map_lookup_elem(&trial_threads, &tid))
		return true;
	task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, flags) & ZCB_PF_IO_WORKER;
}
