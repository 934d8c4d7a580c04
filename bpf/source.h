/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Source checks, as the kernel's martian and reverse-path filters would
 * make them for the iptables recipe: a packet that would start a
 * connection from the internet must not claim this host's address, a LAN
 * address, or (rp_filter) a source whose route back leaves by another
 * interface; from a LAN whose rp_filter is strict, the route back must
 * leave by that LAN (a host of one LAN posing as one of another).
 * Established connections fixed their tuple when they started, so only
 * the first packet is asked.
 */
#ifndef XFWD_BPF_SOURCE_H
#define XFWD_BPF_SOURCE_H

#include "common.h"
#include "egress.h"

#ifndef AF_INET6
#define AF_INET6	10
#endif

/* No unicast source: 0.0.0.0/8, 127.0.0.0/8, multicast and above. */
static __always_inline int src_martian(__u32 saddr)
{
	__u8 first = bpf_ntohl(saddr) >> 24;

	return first == 0 || first == 127 || first >= 224;
}

/* A LAN's: 0, or XFWD_CNT_DROP_SRC_RPF if the route back to the source
 * leaves by another interface than the one the packet came in by. */
static __always_inline int src_check_lan(struct xdp_md *ctx, const struct xfwd_flow_key *k)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	fib.family = AF_INET;
	fib.ipv4_src = k->daddr;
	fib.ipv4_dst = k->saddr;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if ((rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
	    fib.ifindex == ctx->ingress_ifindex)
		return 0;
	return XFWD_CNT_DROP_SRC_RPF;
}

/* What the FIB said (rc) of the route back to a new connection's source,
 * asked from the public side, and the interface it leaves by: 0, or the
 * counter of the reason to drop. Either family's. */
static __always_inline int src_route_verdict(const struct xfwd_config *cfg, int rc,
					     __u32 ifindex)
{
	if (rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		if (if_bit(cfg, ifindex) & ~(1u << XFWD_IF_PUBLIC))	/* a LAN's */
			return XFWD_CNT_DROP_SRC_LAN;
		if (cfg->rp_filter == 1 && ifindex != cfg->ifindex[XFWD_IF_PUBLIC])
			return XFWD_CNT_DROP_SRC_RPF;
		return 0;
	}
	/* No route back (the FIB says "not forwarded" for that as for another
	 * address of this host): strict and loose reverse-path filters drop. */
	return cfg->rp_filter ? XFWD_CNT_DROP_SRC_RPF : 0;
}

/* 0, or the counter of the reason to drop. The FIB answers for the source
 * as a destination, from the public interface (or, from a LAN, that
 * LAN). A function of its own: it runs for new connections only, and the
 * verifier checks it once. */
__attribute__((noinline)) int xfwd_src_check(struct xdp_md *ctx, const struct xfwd_flow_key *k,
					     __u32 side, const struct xfwd_config *cfg)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	if (!ctx || !k || !cfg)
		return 0;
	if (side != XFWD_SIDE_PUBLIC)
		return cfg->rp_strict & if_bit(cfg, ctx->ingress_ifindex) ? src_check_lan(ctx, k) : 0;
	if (src_martian(k->saddr))
		return XFWD_CNT_DROP_SRC_LOCAL;
	for (int i = 0; i < XFWD_IF_MAX; i++)
		if (cfg->addr[i] && k->saddr == cfg->addr[i])
			return XFWD_CNT_DROP_SRC_LOCAL;
	fib.family = AF_INET;
	fib.ipv4_src = k->daddr;
	fib.ipv4_dst = k->saddr;
	fib.ifindex = cfg->ifindex[XFWD_IF_PUBLIC];
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	return src_route_verdict(cfg, rc, fib.ifindex);
}

/* The LAN slot the FIB sends fib's destination (family and address set)
 * to from ctx's interface; XFWD_IF_MAX for the public side or no route.
 * Either family's (xfwd_lan_out, xfwd_lan_out6). */
static __always_inline __u32 fib_lan_slot(struct xdp_md *ctx, struct bpf_fib_lookup *fib,
					  const struct xfwd_config *cfg)
{
	__u32 slot;
	int rc;

	fib->ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return XFWD_IF_MAX;
	slot = if_slot(cfg, fib->ifindex);
	return slot == XFWD_IF_PUBLIC ? XFWD_IF_MAX : slot;
}

/*
 * The LAN a new connection to daddr leaves by: its slot, XFWD_IF_MAX if
 * the FIB sends it elsewhere. --snat (and a hairpin) take that LAN's
 * address, as MASQUERADE takes the egress's (a backend without a route
 * through us answers an address of its own link). Runs before the
 * connection is routed: the FIB scratch is free.
 */
__attribute__((noinline)) __u32 xfwd_lan_out(struct xdp_md *ctx, __u32 daddr,
					     const struct xfwd_config *cfg)
{
	struct bpf_fib_lookup *fib = fib_scratch();

	if (!ctx || !cfg || !fib)
		return XFWD_IF_MAX;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->ipv4_dst = daddr;
	return fib_lan_slot(ctx, fib, cfg);
}

/* The addresses of an ICMP error and of the packet it quotes, either
 * family: an IPv4 address in word 0 of its array (the rest 0). */
struct icmp_err_addrs {
	__u32 osrc[4], odst[4];	/* the error's */
	__u32 isrc[4], idst[4];	/* the quoted packet's, as they arrive */
	__u32 v6;		/* IPv6 addresses (else IPv4) */
};

static __always_inline int err_addr_eq(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/*
 * May this ICMP error speak about the flow it quotes (RFC 5508)? It must be
 * addressed to the quoted packet's sender, as conntrack checks (outer
 * destination = quoted source). From the LAN, where anyone could forge one
 * about a neighbour's flow, it must also come from the quoted packet's
 * receiver or the router towards it (the FIB's next hop): a host on the
 * path. 0 if so, else the counter to drop it by. Both families'.
 */
__attribute__((noinline)) int xfwd_icmp_err_check(struct xdp_md *ctx, const struct icmp_err_addrs *a,
						  __u32 from_lan, const struct xfwd_config *cfg)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	if (!ctx || !a || !cfg)
		return 0;
	if (!err_addr_eq(a->odst, a->isrc))
		return XFWD_CNT_DROP_ICMP_FORGED;
	if (!from_lan || err_addr_eq(a->osrc, a->idst))
		return 0;
	fib.ifindex = ctx->ingress_ifindex;
	if (a->v6) {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, a->isrc, 16);
		__builtin_memcpy(fib.ipv6_dst, a->idst, 16);
	} else {
		fib.family = AF_INET;
		fib.ipv4_src = a->isrc[0];
		fib.ipv4_dst = a->idst[0];
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	if ((rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
	    fib.ifindex == ctx->ingress_ifindex &&
	    (a->v6 ? err_addr_eq(fib.ipv6_dst, a->osrc) : fib.ipv4_dst == a->osrc[0]))
		return 0;	/* the FIB's next hop towards the quoted destination */
	return XFWD_CNT_DROP_ICMP_FORGED;
}

#endif
