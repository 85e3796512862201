// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Transmits per device and network namespace (net:net_dev_xmit): skbs the drivers accepted
 * or refused and their lengths, system-wide. Off by default (zcbench help probes): no
 * figure uses it, and it runs for every skb of every device.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "harness/probes/xmit_devices.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ZCB_NET_MAX_DEVICES);
	__type(key, struct zcb_xmit_key);
	__type(value, struct zcb_xmit_counts);
} xmit_by_device SEC(".maps");

/* Transmits on devices that did not fit xmit_by_device. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} device_overflow SEC(".maps");

/*
 * Runs for every transmitted skb: a BTF-typed raw tracepoint (tp_btf) reads the device by
 * plain loads instead of one bpf_probe_read_kernel() call per field.
 */
SEC("tp_btf/net_dev_xmit")
int BPF_PROG(count_xmit, struct sk_buff *skb, int rc, struct net_device *dev,
	     unsigned int skb_len)
{
	struct zcb_xmit_key key = {};
	struct zcb_xmit_counts *x;

	/* The skb may be gone once the driver took it: only the arguments are used. */
	__builtin_memcpy(key.name, dev->name, sizeof(key.name));
	/* A renamed device may keep bytes of its old name after the NUL: clear them. */
	for (int i = 0, end = 0; i < ZCB_IFNAMSIZ; i++) {
		end |= key.name[i] == 0;
		if (end)
			key.name[i] = 0;
	}
	key.netns = dev->nd_net.net->ns.inum;
	x = bpf_map_lookup_elem(&xmit_by_device, &key);
	if (!x) {
		struct zcb_xmit_counts zero = {};

		/* Fails harmlessly when another CPU added the key first. */
		bpf_map_update_elem(&xmit_by_device, &key, &zero, BPF_NOEXIST);
		x = bpf_map_lookup_elem(&xmit_by_device, &key);
		if (!x) {
			__u32 zero = 0;
			__u64 *overflow = bpf_map_lookup_elem(&device_overflow, &zero);

			if (overflow)
				(*overflow)++;
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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
