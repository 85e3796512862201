/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by sink.bpf.c and its loader (drivers/tc_sink.cc). */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/*
 * What the sink took, per CPU. One skb may carry many datagrams (a UDP_SEGMENT send that
 * no device segmented), and one datagram may span many skbs (IPv4 fragments of a datagram
 * larger than the MTU): `udp_datagrams` counts the datagrams whose first fragment (or
 * whole) arrived, by the skb's GSO segment count, and `udp_payload_bytes` is each skb's
 * length less its Ethernet and IPv4 headers and, in a first fragment, the UDP header (a
 * GSO skb carries its headers once).
 */
struct zcb_sink_counts {
	__u64 udp_skbs;
	__u64 udp_datagrams;
	__u64 udp_payload_bytes;
	__u64 udp_fragments;         /* skbs that were IPv4 fragments */
	__u64 other_skbs;            /* anything but IPv4 UDP (none is expected) */
	__u64 other_bytes;           /* their lengths, link-layer header included */
};
