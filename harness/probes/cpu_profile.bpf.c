// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * CPU profile: runs on every sample of a per-CPU cpu-clock perf event (a software
 * hrtimer, as there may be no hardware PMU) and counts the sample under its kernel
 * stack, in the manner of libbpf-tools' profile. The stacks are turned into categories
 * in user space after the window, never here: the program only hashes and counts.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/cpu_profile.h"

#ifndef EFAULT
#define EFAULT 14
#endif

/* The trial process (set by the loader before load). */
const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, ZCB_PROFILE_MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, ZCB_PROFILE_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

/* Per-CPU: each CPU counts its own samples without contention, and the loader gets the
 * per-CPU split for free. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ZCB_PROFILE_MAX_STACKS);
	__type(key, struct zcb_profile_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zcb_profile_totals);
} totals SEC(".maps");

SEC("perf_event")
int cpu_profile_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct zcb_profile_key key = {};
	struct zcb_profile_totals *t;
	__u32 zero = 0;
	__u64 one = 1, *count;
	long stack_id;

	t = bpf_map_lookup_elem(&totals, &zero);
	if (!t)
		return 0;
	t->samples++;

	if ((__u32)id == 0)
		key.flags |= ZCB_PROFILE_IDLE_TASK;
	if (target_tgid && (id >> 32) == target_tgid)
		key.flags |= ZCB_PROFILE_IN_PROCESS;

	/* A kernel callchain always starts with the interrupted instruction, so "no kernel
	 * frames" (-EFAULT) means the CPU was in user mode: no arch-specific register test. */
	stack_id = bpf_get_stackid(ctx, &stacks, 0);
	if (stack_id == -EFAULT) {
		key.flags |= ZCB_PROFILE_USER;
		key.kernel_stack_id = -1;
	} else if (stack_id < 0) {
		t->stack_lost++;
		return 0;
	} else {
		key.kernel_stack_id = stack_id;
	}

	count = bpf_map_lookup_elem(&counts, &key);
	if (count) {
		(*count)++;
		return 0;
	}
	if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST) == 0)
		return 0;
	/* Another CPU may have created the key meanwhile (its slot for this CPU is 0). */
	count = bpf_map_lookup_elem(&counts, &key);
	if (count)
		(*count)++;
	else
		t->count_lost++;  /* the map is full */
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
