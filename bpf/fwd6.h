/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fwd.h for IPv6: the FIB (AF_INET6) decides the egress before anything is
 * rewritten, with IPv4's checks on its answer (fwd_egress); the hop limit,
 * which no header checksum covers, counts down on the way out.
 */
#ifndef XFWD_BPF_FWD6_H
#define XFWD_BPF_FWD6_H

#include "common.h"
#include "maps.h"
#include "parse6.h"
#include "fwd.h"

/* Route the packet p to daddr from saddr, arrived on ifindex: XFWD_OK or
 * the reason to pass (fwd_route). */
static __always_inline int fwd_route6(void *ctx, const struct pkt6 *p, const __u32 *saddr,
				      const __u32 *daddr, __u32 ifindex,
				      const struct xfwd_config *cfg, struct bpf_fib_lookup *fib,
				      const int xdp)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6;
	fib->flowinfo = p->ip->vtc_flow & bpf_htonl(0x0fffffff);
	fib->l4_protocol = p->icmp_err || p->icmp_echo ? NEXTHDR_ICMP6 : p->key.proto;
	fib->tot_len = p->len;	/* the kernel checks it against the egress MTU */
	addr6_copy(fib->ipv6_src, saddr);
	addr6_copy(fib->ipv6_dst, daddr);
	fib->ifindex = ifindex;
	return fwd_egress(bpf_fib_lookup(ctx, fib, sizeof(*fib), 0), cfg, fib, xdp);
}

/* XDP, after the rewrite: hop limit, then send (fwd_send_xdp). */
static __always_inline int fwd_xmit6_xdp(struct xdp_md *ctx, struct pkt6 *p, __u32 ifindex,
					 const __u8 *dmac, const __u8 *smac)
{
	p->ip->hop_limit--;
	return fwd_send_xdp(ctx, p->vlan, bpf_htons(ETH_P_IPV6), ifindex, dmac, smac);
}

/* tc, after the rewrite: hop limit, then the kernel resolves the
 * neighbour (fwd_xmit_skb). */
static __always_inline int fwd_xmit6_skb(struct __sk_buff *skb, __u32 l3_off,
					 const struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ip6hdr *ip = data + l3_off;
	struct bpf_redir_neigh nh = { .nh_family = AF_INET6 };

	if (l3_off > 64 || (void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	ip->hop_limit--;
	__builtin_memcpy(nh.ipv6_nh, fib->ipv6_dst, sizeof(nh.ipv6_nh));	/* the next hop */
	return bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
}

#endif
