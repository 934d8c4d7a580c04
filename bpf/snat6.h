/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Source NAT for IPv6 connections (--snat rules, hairpin): which LAN a
 * target leaves by and that LAN's address (config.addr6), and the source
 * port, chosen as port_alloc.h chooses IPv4's: the client's own (port
 * preservation) inside the range, then random ones of the same parity,
 * each free of rules and of this host's sockets (shadow.h), claimed with
 * BPF_NOEXIST. IPv6 has no endpoint mappings yet (mapping.h is IPv4's):
 * a client's connections are not tied to one port.
 */
#ifndef XFWD_BPF_SNAT6_H
#define XFWD_BPF_SNAT6_H

#include "common.h"
#include "maps.h"
#include "egress.h"
#include "parse6.h"
#include "rules.h"
#include "port_alloc.h"
#include "source.h"

/* An IPv6 address as a function of its own takes it: the verifier sizes
 * a pointer argument by its type (a __u32 * would be 4 bytes). */
struct addr6_arg {
	__u32 a[4];
};

/* The LAN slot the FIB sends daddr to from the packet's interface
 * (xfwd_lan_out), or XFWD_IF_MAX (the public side, or no route). Verified
 * once. */
__attribute__((noinline)) __u32 xfwd_lan_out6(struct xdp_md *ctx, const struct addr6_arg *daddr,
					      const struct xfwd_config *cfg)
{
	struct bpf_fib_lookup *fib = fib_scratch();

	if (!ctx || !daddr || !cfg || !fib)
		return XFWD_IF_MAX;
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6;
	addr6_copy(fib->ipv6_dst, daddr->a);
	return fib_lan_slot(ctx, fib, cfg);
}

/* The IPv6 address of the LAN in slot (slot_addr): the first LAN's if slot
 * is none or has no address. */
static __always_inline const __u32 *slot_addr6(const struct xfwd_config *cfg, __u32 slot)
{
	if (slot >= XFWD_IF_MAX)
		slot = XFWD_IF_LAN;
	asm volatile("%0 &= %1" : "+r"(slot) : "i"(XFWD_IF_MAX - 1));
	return addr6_zero(cfg->addr6[slot]) ? cfg->addr6[XFWD_IF_LAN] : cfg->addr6[slot];
}

/* Does a socket of this host own the IPv6 reply tuple (port_shadowed)? */
static __always_inline int port_shadowed6(void *ctx, const struct xfwd_flow6_key *rkey)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;

	__builtin_memcpy(t.ipv6.saddr, rkey->saddr, 16);
	__builtin_memcpy(t.ipv6.daddr, rkey->daddr, 16);
	t.ipv6.sport = rkey->sport;
	t.ipv6.dport = rkey->dport;
	if (rkey->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv6), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	count(XFWD_CNT_PORT_SHADOWED);
	return 1;
}

/* Is rkey's destination port (network order) free to be a chosen source
 * port of its address: no rule forwards it (port_free's first test, the
 * live set as rule6_lookup reads it), no socket holds the tuple? */
static __always_inline int port6_usable(void *ctx, const struct xfwd_config *cfg,
					const struct xfwd_flow6_key *rkey)
{
	struct xfwd_rule6_key rk = { .port = rkey->dport, .proto = rkey->proto };
	__u32 set = !!(*(volatile const __u8 *)&cfg->sets & XFWD_SET_RULES_B);
	void *rules = bpf_map_lookup_elem(&xfwd_rule6_sets, &set);

	if (!rules || bpf_map_lookup_elem(rules, &rk))	/* a rule on every address */
		return 0;
	addr6_copy(rk.addr, rkey->daddr);
	if (bpf_map_lookup_elem(rules, &rk))
		return 0;
	return !port_shadowed6(ctx, rkey);
}

#endif
