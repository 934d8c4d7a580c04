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
} __attribute__((preserve_access_index));

#endif
