// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Network data movement: kernel-to-user copies on receive (skb:skb_copy_datagram_iovec,
 * sock:sock_recv_length), how transmitted skbs hold their payload (net:net_dev_start_xmit)
 * and TCP retransmissions (tcp:tcp_retransmit_skb).
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

/*
 * The sockets the trial process sent on (sock:sock_send_length, in the sending task's
 * context), so that its transmits are told apart by socket, whatever context transmits
 * them: a softirq that interrupts this process while transmitting another's skbs is not
 * counted, one that transmits this process's skbs from ksoftirqd is. Least recently
 * used sockets make room for new ones.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ZCB_TRIAL_SOCKETS);
	__type(key, __u64);
	__type(value, __u8);
} trial_sockets SEC(".maps");

/* The socket each CPU last remembered: a send on it again needs no hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_socket SEC(".maps");

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

SEC("raw_tp/sock_recv_length")
int BPF_PROG(count_recv, const struct sock *sk, int ret, int flags)
{
	struct zcb_net_counts *c = counts();

	if (!c || ret <= 0)
		return 0;
	c->recv_bytes += ret;
	if (flags & ZCB_MSG_TRUNC)
		return 0;
	c->recv_copy_bytes += ret;
	if (in_target_process())
		c->recv_copy_bytes_in_process += ret;
	return 0;
}

SEC("raw_tp/sock_send_length")
int BPF_PROG(remember_socket, const struct sock *sk, int ret, int flags)
{
	__u64 key = (__u64)sk, *last;
	__u32 zero = 0;
	__u8 one = 1;

	if (ret <= 0 || !in_target_process())
		return 0;
	last = bpf_map_lookup_elem(&last_socket, &zero);
	if (!last || *last == key)
		return 0;
	/* Sends alternate between few sockets: look before writing. */
	if (!bpf_map_lookup_elem(&trial_sockets, &key))
		bpf_map_update_elem(&trial_sockets, &key, &one, BPF_ANY);
	*last = key;
	return 0;
}

/*
 * The transport payload of an skb about to be transmitted: its length less the link,
 * network and TCP/UDP headers (data points at the link-layer header by now). A GSO skb
 * carries one set of headers for all its segments. Other protocols count whole.
 */
static __always_inline __u32 payload_length(const struct sk_buff *skb, const struct sock *sk)
{
	unsigned char *head = skb->head;
	unsigned char *data = skb->data;
	__u16 transport = skb->transport_header;
	__u32 len = skb->len;
	__u16 protocol = sk->sk_protocol;
	__u32 headers, l4 = 0;

	if (transport == (__u16)~0U || head + transport < data)
		return len;
	headers = head + transport - data;
	if (protocol == IPPROTO_TCP) {
		__u8 doff = 0;

		/* The data offset is the high nibble of byte 12 of the TCP header. */
		bpf_probe_read_kernel(&doff, sizeof(doff), head + transport + 12);
		l4 = (doff >> 4) * 4;
	} else if (protocol == IPPROTO_UDP) {
		l4 = 8;
	} else {
		return len;
	}
	if (headers + l4 > len)
		return 0;
	return len - headers - l4;
}

/*
 * How a transmitted skb holds its payload. It runs for every transmitted skb, so it is a
 * BTF-typed raw tracepoint (tp_btf): it reads the skb by plain loads that the verifier
 * checks against the kernel's BTF instead of one bpf_probe_read_kernel() call per field
 * (half the cost per skb here). Only skbs of a socket the trial process sent on: a
 * forwarded skb (no owner once it crossed a namespace) would count the same payload once
 * per hop, and other processes' skbs are not the trial's.
 */
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(classify_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	struct skb_shared_info *shinfo;
	struct zcb_net_counts *c;
	const struct sock *sk;
	__u64 key;
	__u8 flags = 0;
	__u32 len;

	sk = skb->sk;
	key = (__u64)sk;
	if (!sk || !bpf_map_lookup_elem(&trial_sockets, &key))
		return 0;
	c = counts();
	if (!c)
		return 0;
	/* skb_shinfo(): the shared info sits at head + end (an offset on 64-bit kernels). */
	shinfo = (struct skb_shared_info *)(skb->head + skb->end);
	bpf_probe_read_kernel(&flags, sizeof(flags), &shinfo->flags);
	len = payload_length(skb, sk);
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
