// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Network data movement: kernel-to-user copies on receive (skb:skb_copy_datagram_iovec),
 * transmits per device (net:net_dev_xmit), how transmitted skbs hold their payload
 * (net:net_dev_start_xmit) and TCP retransmissions (tcp:tcp_retransmit_skb).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/process_filter.bpf.h"
#include "harness/probes/net_traffic.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zcb_net_counts);
} net_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ZCB_NET_MAX_DEVICES);
	__type(key, struct zcb_xmit_key);
	__type(value, struct zcb_xmit_counts);
} xmit_by_device SEC(".maps");

static __always_inline struct zcb_net_counts *counts(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&net_counts, &zero);
}

SEC("raw_tp/skb_copy_datagram_iovec")
int BPF_PROG(count_kernel_copy, const struct sk_buff *skb, int len)
{
	struct zcb_net_counts *c = counts();

	if (!c || len <= 0)
		return 0;
	c->copy_calls++;
	c->copy_bytes += len;
	if (in_target_process())
		c->copy_bytes_in_process += len;
	return 0;
}

SEC("raw_tp/net_dev_xmit")
int BPF_PROG(count_xmit, struct sk_buff *skb, int rc, struct net_device *dev,
	     unsigned int skb_len)
{
	struct zcb_xmit_key key = {};
	struct zcb_xmit_counts *x;

	/* The skb may be gone once the driver took it: only the arguments are used. */
	BPF_CORE_READ_STR_INTO(&key.name, dev, name);
	key.netns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	x = bpf_map_lookup_elem(&xmit_by_device, &key);
	if (!x) {
		struct zcb_xmit_counts zero = {};

		/* Fails harmlessly when another CPU added the key first. */
		bpf_map_update_elem(&xmit_by_device, &key, &zero, BPF_NOEXIST);
		x = bpf_map_lookup_elem(&xmit_by_device, &key);
		if (!x) {
			struct zcb_net_counts *c = counts();

			if (c)
				c->device_overflow++;
			return 0;
		}
	}
	if (rc == 0) {
		x->packets++;
		x->bytes += skb_len;
	} else {
		x->errors++;
	}
	return 0;
}

SEC("raw_tp/net_dev_start_xmit")
int BPF_PROG(classify_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	struct skb_shared_info *shinfo;
	struct zcb_net_counts *c;
	unsigned char *head;
	__u32 len;
	__u8 flags;

	/*
	 * Only skbs a local socket sent from this process: a forwarded skb (no owner once it
	 * crossed a namespace) would count the same payload once per hop.
	 */
	if (!in_target_process() || !BPF_CORE_READ(skb, sk))
		return 0;
	c = counts();
	if (!c)
		return 0;
	/* skb_shinfo(): the shared info sits at head + end (an offset on 64-bit kernels). */
	head = BPF_CORE_READ(skb, head);
	shinfo = (struct skb_shared_info *)(head + BPF_CORE_READ(skb, end));
	flags = BPF_CORE_READ(shinfo, flags);
	len = BPF_CORE_READ(skb, len);
	c->xmit_in_process_packets++;
	if (flags & SKBFL_ZEROCOPY_ENABLE)
		c->xmit_in_process_zerocopy_bytes += len;
	else if (flags & SKBFL_SHARED_FRAG)
		c->xmit_in_process_spliced_bytes += len;
	else
		c->xmit_in_process_copied_bytes += len;
	return 0;
}

SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(count_retransmit)
{
	struct zcb_net_counts *c = counts();

	if (c)
		c->retransmits++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
