// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sink of path `sink` (drivers/sink_path.cc): a tc classifier in direct-action mode
 * that counts every skb reaching it and returns the verdict its loader set. At the
 * ingress of the far end of a veth pair the verdict is TC_ACT_SHOT: the skb is freed
 * there, before local delivery, which is where the kernel would copy the pages a
 * zero-copy sender lent (skb_orphan_frags_rx). At the egress of a dummy device it is
 * TC_ACT_OK: the dummy driver frees the skb itself.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "drivers/sink.h"

/* From linux/if_ether.h and linux/pkt_cls.h: macros, so not in vmlinux.h. */
#define ETH_P_IP 0x0800
#define ETH_HLEN 14
#define TC_ACT_OK 0
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

/* Set by the loader before the object is loaded. */
const volatile int verdict = TC_ACT_OK;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zcb_sink_counts);
} sink_counts SEC(".maps");

SEC("tc")
int sink_count(struct __sk_buff *skb)
{
	struct zcb_sink_counts *c;
	struct iphdr iph;
	__u32 zero = 0, headers;
	__u16 frag;

	c = bpf_map_lookup_elem(&sink_counts, &zero);
	if (!c)
		return verdict;
	/* At a tc hook the skb's data starts at its Ethernet header (no VLANs on the path). */
	if (skb->protocol != bpf_htons(ETH_P_IP) ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, &iph, sizeof(iph)) != 0 ||
	    iph.protocol != IPPROTO_UDP) {
		c->other_skbs++;
		c->other_bytes += skb->len;
		return verdict;
	}
	/* Only a datagram's first fragment (or the whole datagram) has the UDP header. */
	frag = bpf_ntohs(iph.frag_off);
	headers = ETH_HLEN + iph.ihl * 4;
	if (!(frag & IP_OFFSET)) {
		headers += sizeof(struct udphdr);
		c->udp_datagrams += skb->gso_segs ? skb->gso_segs : 1;
	}
	if (frag & (IP_MF | IP_OFFSET))
		c->udp_fragments++;
	c->udp_skbs++;
	c->udp_payload_bytes += skb->len > headers ? skb->len - headers : 0;
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
