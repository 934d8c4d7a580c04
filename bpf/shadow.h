/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Port shadowing (CVE-2021-3773): a reply tuple xfwd is about to take must
 * not be one a socket of this host already uses, or XDP would hand what
 * the remote sends that socket to the mapping's owner. A socket bound after
 * the mapping is the other order (local.h).
 */
#ifndef XFWD_BPF_SHADOW_H
#define XFWD_BPF_SHADOW_H

#include "common.h"
#include "maps.h"

/* Does a socket of this host own the reply tuple (CVE-2021-3773)? */
static __always_inline int port_shadowed(void *ctx, const struct xfwd_flow_key *rkey)
{
	struct bpf_sock_tuple t = {
		.ipv4.saddr = rkey->saddr, .ipv4.daddr = rkey->daddr,
		.ipv4.sport = rkey->sport, .ipv4.dport = rkey->dport,
	};
	struct bpf_sock *sk;

	if (rkey->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	else
		sk = bpf_sk_lookup_udp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	bpf_sk_release(sk);
	count(XFWD_CNT_PORT_SHADOWED);
	return 1;
}

#endif
