/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel structures the tracing programs read, as CO-RE views:
 * only the fields used, relocated by libbpf against the kernel's BTF.
 */
#ifndef XFWD_BPF_KERNEL_TYPES_H
#define XFWD_BPF_KERNEL_TYPES_H

#include <bpf/bpf_core_read.h>

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
	int ifindex;
	possible_net_t nd_net;
	unsigned int xdp_features;	/* 6.3 and later: see bpf_core_field_exists */
} __attribute__((preserve_access_index));

struct bpf_prog_aux {
	unsigned int id;
} __attribute__((preserve_access_index));

struct bpf_prog {
	struct bpf_prog_aux *aux;
} __attribute__((preserve_access_index));

/* The bridge's, for its FDB's tracepoints (bridge.h). */
struct net_bridge {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct net_bridge_port {
	struct net_device *dev;
	unsigned char state;	/* BR_STATE_* */
} __attribute__((preserve_access_index));

struct mac_addr {
	unsigned char addr[6];
} __attribute__((preserve_access_index));

struct net_bridge_fdb_key {
	struct mac_addr addr;
	unsigned short vlan_id;
} __attribute__((preserve_access_index));

struct net_bridge_fdb_entry {
	struct net_bridge_fdb_key key;
} __attribute__((preserve_access_index));

#define BR_STATE_FORWARDING	3
#define BR_FDB_LOCKED_BIT	(1ull << 8)	/* br_fdb_update's flags, 6.2 and later */
#define NETDEV_XDP_ACT_NDO_XMIT	(1u << 2)

#endif
