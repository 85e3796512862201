/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by sink.bpf.c and its loader (drivers/tc_sink.cc). */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/*
 * What the sink took, per CPU. One skb may carry many datagrams (a UDP_SEGMENT send that
 * no device segmented): `udp_datagrams` counts them by the skb's GSO segment count, and
 * `udp_payload_bytes` is the skb's length less its Ethernet, IPv4 and UDP headers, which
 * a GSO skb carries once.
 */
struct zcb_sink_counts {
	__u64 udp_skbs;
	__u64 udp_datagrams;
	__u64 udp_payload_bytes;
	__u64 other_skbs;            /* anything but IPv4 UDP (none is expected) */
	__u64 other_bytes;           /* their lengths, link-layer header included */
};
