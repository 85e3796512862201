// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Inter-processor interrupts: the sends (ipi:ipi_send_cpu, ipi:ipi_send_cpumask, with
 * the number of CPUs targeted and the callback they are asked to run) and the
 * function-call IPIs handled (irq_vectors:call_function_entry and
 * call_function_single_entry). Remote TLB shootdowns arrive as such IPIs.
 *
 * Which kind of work an IPI carries: a send without a callback is a reschedule IPI; the
 * function-call IPIs name only the generic handler, so the cross-CPU function calls they
 * deliver are counted where they are queued (csd:csd_queue_cpu), by function: TLB
 * shootdowns (flush_tlb_func), remote wake-ups (sched_ttwu_pending) and the others.
 *
 * Sends and queued calls are also counted in the trial process's context and on one of
 * the trial's own threads (trial_threads.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/ipi.h"
#include "harness/probes/trial_threads.bpf.h"

/* Words of the kernel's CPU masks worth reading (nr_cpu_ids rounded up); set by the loader. */
const volatile __u32 cpumask_words = 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zcb_ipi_counts);
} ipi_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ZCB_IPI_MAX_CALLBACKS);
	__type(key, __u64);
	__type(value, struct zcb_ipi_callback_counts);
} ipi_callbacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ZCB_IPI_MAX_CALLBACKS);
	__type(key, __u64);
	__type(value, struct zcb_csd_function_counts);
} csd_functions SEC(".maps");

static __always_inline struct zcb_ipi_counts *counts(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ipi_counts, &zero);
}

/* Bits set in a word; BPF has no population-count instruction. */
static __always_inline __u64 popcount64(__u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

static __always_inline void count_send(struct zcb_ipi_counts *c, __u64 targets, void *callback)
{
	bool mine = in_target_process();
	bool trial = in_trial_thread();
	__u64 key = (__u64)callback;
	struct zcb_ipi_callback_counts *cb;

	c->targets += targets;
	if (mine) {
		c->sends_in_process++;
		c->targets_in_process += targets;
	}
	if (trial) {
		c->sends_in_trial++;
		c->targets_in_trial += targets;
	}
	cb = bpf_map_lookup_elem(&ipi_callbacks, &key);
	if (!cb) {
		struct zcb_ipi_callback_counts zero = {};

		/* Fails harmlessly when another CPU added the key first. */
		bpf_map_update_elem(&ipi_callbacks, &key, &zero, BPF_NOEXIST);
		cb = bpf_map_lookup_elem(&ipi_callbacks, &key);
		if (!cb) {
			c->callback_overflow++;
			return;
		}
	}
	cb->sends++;
	cb->targets += targets;
	if (mine)
		cb->sends_in_process++;
	if (trial) {
		cb->sends_in_trial++;
		cb->targets_in_trial += targets;
	}
}

SEC("raw_tp/ipi_send_cpu")
int BPF_PROG(count_ipi_send_cpu, unsigned int cpu, unsigned long callsite, void *callback)
{
	struct zcb_ipi_counts *c = counts();

	if (!c)
		return 0;
	c->send_cpu++;
	count_send(c, 1, callback);
	return 0;
}

SEC("raw_tp/ipi_send_cpumask")
int BPF_PROG(count_ipi_send_cpumask, const struct cpumask *mask, unsigned long callsite,
	     void *callback)
{
	struct zcb_ipi_counts *c = counts();
	__u32 words = cpumask_words;
	__u64 targets = 0;

	if (!c)
		return 0;
	/* Never read past the kernel's own mask type. */
	if (words > bpf_core_type_size(struct cpumask) / 8)
		words = bpf_core_type_size(struct cpumask) / 8;
	for (__u32 i = 0; i < ZCB_IPI_MAX_MASK_WORDS && i < words; i++) {
		__u64 word = 0;

		bpf_probe_read_kernel(&word, sizeof(word), (const void *)mask + i * sizeof(word));
		targets += popcount64(word);
	}
	c->send_cpumask++;
	count_send(c, targets, callback);
	return 0;
}

static __always_inline void count_handled(bool single)
{
	struct zcb_ipi_counts *c = counts();

	if (!c)
		return;
	if (single)
		c->call_function_single++;
	else
		c->call_function++;
	if (in_target_process())
		c->handled_in_process++;
}

SEC("raw_tp/call_function_entry")
int BPF_PROG(count_call_function, int vector)
{
	count_handled(false);
	return 0;
}

SEC("raw_tp/call_function_single_entry")
int BPF_PROG(count_call_function_single, int vector)
{
	count_handled(true);
	return 0;
}

SEC("raw_tp/csd_queue_cpu")
int BPF_PROG(count_csd_queue_cpu, unsigned int cpu, unsigned long callsite, void *func, void *csd)
{
	__u64 key = (__u64)func;
	struct zcb_csd_function_counts *f = bpf_map_lookup_elem(&csd_functions, &key);

	if (!f) {
		struct zcb_csd_function_counts zero = {};

		bpf_map_update_elem(&csd_functions, &key, &zero, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&csd_functions, &key);
		if (!f)
			return 0;
	}
	f->queued++;
	if (in_target_process())
		f->queued_in_process++;
	if (in_trial_thread())
		f->queued_in_trial++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
