/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by net_traffic.bpf.c and its loader. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Sockets the trial process sent on, remembered for the transmit classification. */
#define ZCB_TRIAL_SOCKETS 1024

/* recvmsg() flag (uapi): discard the data instead of copying it. */
#define ZCB_MSG_TRUNC 0x20

struct zcb_net_counts {
	/* skb:skb_copy_datagram_iovec: the kernel copying received data to user memory. */
	__u64 copy_calls;
	__u64 copy_bytes;
	__u64 copy_bytes_in_process;
	/*
	 * sock:sock_recv_length: bytes recvmsg() returned, and of those the ones copied to
	 * user memory (calls without MSG_TRUNC, which discards). This also sees the UDP
	 * receive path that copies linear skbs directly (copy_linear_skb), which
	 * skb_copy_datagram_iovec does not.
	 */
	__u64 recv_bytes;
	__u64 recv_copy_bytes;
	__u64 recv_copy_bytes_in_process;
	/* tcp:tcp_retransmit_skb */
	__u64 retransmits;
	/*
	 * net:net_dev_start_xmit of skbs of sockets the target process sent on, by
	 * how the skb holds its data (skb_shared_info flags): in kernel memory (copied in
	 * by the send call), in shared pages spliced in by reference (sendfile, splice,
	 * vmsplice), or in user pages lent for zero-copy (MSG_ZEROCOPY, io_uring SEND_ZC).
	 * Transport payload bytes (link, IP and TCP/UDP headers excluded).
	 */
	__u64 xmit_in_process_packets;
	__u64 xmit_in_process_copied_bytes;
	__u64 xmit_in_process_spliced_bytes;
	__u64 xmit_in_process_zerocopy_bytes;
};
