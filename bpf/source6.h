/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * source.h for IPv6: a packet that would start a connection from the
 * internet must not claim this host's address or none that is unicast, nor
 * a LAN's (by the FIB), nor (rp_filter of the public side, as IPv4's) one
 * whose route back leaves by another interface. And which destinations a
 * rule on every address covers.
 */
#ifndef XFWD_BPF_SOURCE6_H
#define XFWD_BPF_SOURCE6_H

#include "common.h"
#include "egress.h"
#include "parse6.h"
#include "source.h"

/* No unicast source of the internet: unspecified, loopback, IPv4-mapped
 * (::ffff:0:0/96), multicast (link-local ones parse6 passes up). */
static __always_inline int src6_martian(const __u32 *s)
{
	if (addr6_multicast(s))
		return 1;
	if (s[0] || s[1])
		return 0;
	return (!s[2] && (!s[3] || s[3] == bpf_htonl(1))) || s[2] == bpf_htonl(0xffff);
}

/* 0, or the counter of the reason to drop (xfwd_src_check). The FIB
 * answers for the source as a destination, from the public interface. */
__attribute__((noinline)) int xfwd_src_check6(struct xdp_md *ctx, const struct xfwd_flow6_key *k,
					      const struct xfwd_config *cfg)
{
	struct bpf_fib_lookup fib = {};
	int rc, i;

	if (!ctx || !k || !cfg)
		return 0;
	if (src6_martian(k->saddr))
		return XFWD_CNT_DROP_SRC_LOCAL;
	for (i = 0; i < XFWD_IF_MAX; i++)
		if (!addr6_zero(cfg->addr6[i]) && addr6_eq(k->saddr, cfg->addr6[i]))
			return XFWD_CNT_DROP_SRC_LOCAL;
	fib.family = AF_INET6;
	addr6_copy(fib.ipv6_src, k->daddr);
	addr6_copy(fib.ipv6_dst, k->saddr);
	fib.ifindex = cfg->ifindex[XFWD_IF_PUBLIC];
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), BPF_FIB_LOOKUP_SKIP_NEIGH);
	return src_route_verdict(cfg, rc, fib.ifindex);
}

/*
 * Is the destination an address of this host, for a rule on every
 * address? IPv4's wildcard takes any destination that arrives on the
 * public side; with IPv6 the LAN hosts' addresses are global and routed
 * through the public side, and a wildcard must not take their traffic:
 * only the gateway's own addresses, as the loader knows them
 * (config.addr6: each interface's first global one). The FIB cannot tell
 * the others: it says "not forwarded" for a local address and for no route
 * alike. New connections only; verified once.
 */
__attribute__((noinline)) int xfwd_addr6_local(const struct xfwd_flow6_key *k,
					       const struct xfwd_config *cfg)
{
	int i;

	if (!k || !cfg)
		return 0;
	for (i = 0; i < XFWD_IF_MAX; i++)
		if (!addr6_zero(cfg->addr6[i]) && addr6_eq(k->daddr, cfg->addr6[i]))
			return 1;
	return 0;
}

#endif
