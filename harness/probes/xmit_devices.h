/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Types shared by xmit_devices.bpf.c and its loader. */
#pragma once

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Devices tracked by name and network namespace. */
#define ZCB_NET_MAX_DEVICES 256
#define ZCB_IFNAMSIZ 16

struct zcb_xmit_key {
	char name[ZCB_IFNAMSIZ];
	__u32 netns;                 /* the device's network namespace inode number */
	__u32 pad;
};

struct zcb_xmit_counts {
	__u64 packets;               /* skbs the driver accepted (one per GSO/TSO skb) */
	__u64 bytes;                 /* their lengths, headers included */
	__u64 errors;                /* skbs the driver refused (rc != NETDEV_TX_OK) */
};
