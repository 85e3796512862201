/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by trial_threads.bpf.h and the user-space code that finds the trial's threads. */
#pragma once

/* The sender, the receiver, and room to spare: TIDs the loader writes as a window opens. */
#define ZCB_TRIAL_THREADS_MAX 64

/*
 * task_struct.flags bit of io_uring's kernel-created workers (io-wq workers, iou-wrk-*, and
 * the SQPOLL thread, iou-sqp-*), include/linux/sched.h. A macro, so not in BTF: copied here.
 * The same bit is field 9 (flags) of /proc/<pid>/task/<tid>/stat.
 */
#define ZCB_PF_IO_WORKER 0x00000010
