/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Shared by the zcbench BPF programs: they count system-wide, and also what happened in
 * the context of one process (the trial's: its sender and receiver threads), so that a
 * busy machine's other work can be told apart from the trial's own.
 */
#pragma once

/* The process whose events are also counted separately; set by the loader before load. */
const volatile __u32 target_tgid = 0;

static __always_inline bool in_target_process(void)
{
	return target_tgid != 0 && (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}
