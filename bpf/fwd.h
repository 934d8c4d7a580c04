/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forwarding: the FIB decides the egress before anything is rewritten, so a
 * packet handed to the stack (no route, no neighbour, too big) is untouched.
 */
#ifndef XFWD_BPF_FWD_H
#define XFWD_BPF_FWD_H

#include "common.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"

/* Route the translated tuple. Returns PARSE_OK or the reason to pass. */
static __always_inline int fwd_route(struct xdp_md *ctx, const struct pkt *p,
				     const struct xfwd_flow *f, struct bpf_fib_lookup *fib)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->ip->tos;
	fib->l4_protocol = p->key.proto;
	fib->tot_len = p->len;	/* the kernel checks it against the egress MTU */
	fib->ipv4_src = f->new_saddr;
	fib->ipv4_dst = f->new_daddr;
	fib->ifindex = ctx->ingress_ifindex;

	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return XFWD_CNT_PASS_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return XFWD_CNT_PASS_FRAG_NEEDED;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		return XFWD_CNT_PASS_FWD_DISABLED;
	default:
		return XFWD_CNT_PASS_NO_ROUTE;
	}
	if (!bpf_map_lookup_elem(&xfwd_tx_ports, &fib->ifindex))
		return XFWD_CNT_PASS_EGRESS_FOREIGN;
	return PARSE_OK;
}

/* After the NAT rewrite: TTL, MACs, drop the VLAN tag, redirect. */
static __always_inline int fwd_xmit(struct xdp_md *ctx, struct pkt *p,
				    const struct bpf_fib_lookup *fib)
{
	struct iphdr *ip = p->ip;
	__u16 *ttl_word = (__u16 *)&ip->ttl;	/* TTL and protocol share a word */
	__u16 old = *ttl_word;
	struct ethhdr *eth;

	ip->ttl--;
	ip->check = csum_apply(ip->check, csum_delta16(old, *ttl_word));

	if (p->vlan) {
		/* The egress is the untagged device the FIB chose. */
		if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
			return XDP_ABORTED;
		eth = (void *)(long)ctx->data;
		if ((void *)(eth + 1) > (void *)(long)ctx->data_end)
			return XDP_ABORTED;
		eth->h_proto = bpf_htons(ETH_P_IP);
	} else {
		eth = p->eth;
	}
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	return bpf_redirect_map(&xfwd_tx_ports, fib->ifindex, 0);
}

#endif
