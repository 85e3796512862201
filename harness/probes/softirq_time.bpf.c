// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Time spent in each softirq vector (irq:softirq_entry to irq:softirq_exit, per CPU):
 * NET_RX and NET_TX carry the network stack's deferred work.
 *
 * The part the trial's CPU figure needs: softirq work done for the trial but not on one of
 * its threads. Softirq work run on a trial thread (loopback delivery after local_bh_enable,
 * for instance) is already in that thread's CPU time. Work run in ksoftirqd, on the idle
 * task or on another task is not; it is the trial's when the trial raised it: a vector
 * raised (irq:softirq_raise) on a trial thread, or inside a softirq run that was itself the
 * trial's (net_rx_action re-raising itself when out of budget), marks the CPU's next run
 * of that vector as the trial's (ns_trial_elsewhere). Other flows' packets handled in the
 * same run are counted with it; runs raised only by others are not.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/softirq_time.h"
#include "harness/probes/trial_threads.bpf.h"

/* The vectors whose runs are attributed to the trial (NET_RX, NET_TX); set by the loader. */
const volatile __u32 trial_vectors = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zcb_softirq_start);
} softirq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZCB_SOFTIRQ_SLOTS);
	__type(key, __u32);
	__type(value, struct zcb_softirq_counts);
} softirq_counts SEC(".maps");

SEC("raw_tp/softirq_raise")
int BPF_PROG(softirq_raised, unsigned int vec)
{
	__u32 zero = 0;
	struct zcb_softirq_start *s;

	/* Most raises are of other vectors (timers, RCU, scheduler): leave at once. */
	if (vec >= 32 || !(trial_vectors & (1U << vec)))
		return 0;
	s = bpf_map_lookup_elem(&softirq_start, &zero);
	if (!s)
		return 0;
	if ((s->ts && s->for_trial) || in_trial_thread())
		s->raised_by_trial |= 1U << vec;
	return 0;
}

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_enter, unsigned int vec)
{
	__u32 zero = 0;
	struct zcb_softirq_start *s = bpf_map_lookup_elem(&softirq_start, &zero);
	__u32 bit;

	if (!s || vec >= 32)
		return 0;
	bit = 1U << vec;
	s->ts = bpf_ktime_get_ns();
	s->vec = vec;
	/* This run serves the raises pending for its vector. */
	s->for_trial = (s->raised_by_trial & bit) != 0;
	s->raised_by_trial &= ~bit;
	s->on_trial_thread = s->for_trial && in_trial_thread();
	return 0;
}

SEC("raw_tp/softirq_exit")
int BPF_PROG(softirq_leave, unsigned int vec)
{
	__u32 zero = 0, slot;
	struct zcb_softirq_start *s = bpf_map_lookup_elem(&softirq_start, &zero);
	struct zcb_softirq_counts *c;

	/* An exit without its entry (attached mid-softirq) is skipped. */
	if (!s || !s->ts || s->vec != vec)
		return 0;
	slot = vec < ZCB_SOFTIRQ_SLOTS ? vec : ZCB_SOFTIRQ_SLOTS - 1;
	c = bpf_map_lookup_elem(&softirq_counts, &slot);
	if (c) {
		__u64 ns = bpf_ktime_get_ns() - s->ts;

		c->count++;
		c->ns += ns;
		if (s->for_trial && !s->on_trial_thread) {
			c->count_trial_elsewhere++;
			c->ns_trial_elsewhere += ns;
		}
	}
	s->ts = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
