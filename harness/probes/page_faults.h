/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by page_faults.bpf.c and its loader. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

struct zcb_page_fault_counts {
	__u64 user;               /* exceptions:page_fault_user */
	__u64 kernel;             /* exceptions:page_fault_kernel */
	__u64 user_in_process;    /* of those, in the target process */
	__u64 kernel_in_process;
};
