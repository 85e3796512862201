// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Page faults taken in user mode (exceptions:page_fault_user) and in kernel mode
 * (exceptions:page_fault_kernel, e.g. a copy to or from a user page not yet mapped).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/process_filter.bpf.h"
#include "harness/probes/page_faults.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zcb_page_fault_counts);
} fault_counts SEC(".maps");

static __always_inline void count_fault(bool user)
{
	__u32 zero = 0;
	struct zcb_page_fault_counts *c = bpf_map_lookup_elem(&fault_counts, &zero);
	bool mine;

	if (!c)
		return;
	mine = in_target_process();
	if (user) {
		c->user++;
		if (mine)
			c->user_in_process++;
	} else {
		c->kernel++;
		if (mine)
			c->kernel_in_process++;
	}
}

SEC("raw_tp/page_fault_user")
int BPF_PROG(count_page_fault_user, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	count_fault(true);
	return 0;
}

SEC("raw_tp/page_fault_kernel")
int BPF_PROG(count_page_fault_kernel, unsigned long address, struct pt_regs *regs,
	     unsigned long error_code)
{
	count_fault(false);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
