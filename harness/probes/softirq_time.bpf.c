// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Time spent in each softirq vector (irq:softirq_entry to irq:softirq_exit, per CPU):
 * NET_RX and NET_TX carry the network stack's deferred work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/softirq_time.h"

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

SEC("raw_tp/softirq_entry")
int BPF_PROG(softirq_enter, unsigned int vec)
{
	__u32 zero = 0;
	struct zcb_softirq_start *s = bpf_map_lookup_elem(&softirq_start, &zero);

	if (!s)
		return 0;
	s->ts = bpf_ktime_get_ns();
	s->vec = vec;
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
		c->count++;
		c->ns += bpf_ktime_get_ns() - s->ts;
	}
	s->ts = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
