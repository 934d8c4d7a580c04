/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv6 rewrite, nat.h's for XDP and tc: addresses and ports written
 * directly, one L4 checksum update (no IP header checksum). XDP folds the
 * entry's precomputed delta in (csum_l4: a UDP checksum that comes out 0 is
 * written 0xffff); tc goes through bpf_l4_csum_replace, the address part as
 * pseudo-header (a partial checksum holds only that) and the port part not,
 * each recomputed from the packet and the entry (the tc path is rare).
 */
#ifndef XFWD_BPF_NAT6_H
#define XFWD_BPF_NAT6_H

#include "common.h"
#include "csum.h"
#include "parse6.h"
#include "nat.h"

/* bpf_l4_csum_replace for IPv6: BPF_F_IPV6 leaves a CHECKSUM_COMPLETE
 * skb's sum alone (the addresses moved it by what the L4 field moved it
 * back; no IP header checksum takes the change as IPv4's does). Kernels
 * before 6.16 refuse the flag: then without it. */
static __always_inline void csum_l4_skb6(struct __sk_buff *skb, __u32 off, __u32 delta, int udp,
					 int pseudo)
{
	__u64 fl = (pseudo ? BPF_F_PSEUDO_HDR : 0) | (udp ? BPF_F_MARK_MANGLED_0 : 0);

	if (bpf_l4_csum_replace(skb, off, 0, delta, fl | BPF_F_IPV6))
		bpf_l4_csum_replace(skb, off, 0, delta, fl);
}

/* Translate a later fragment of a datagram: its addresses, nothing else
 * (no L4 header: the first fragment's checksum update covered the whole
 * datagram; no IP header checksum). XDP and tc alike: tc sends it on, so a
 * complete checksum of the skb, which the addresses moved, is not read. */
static __always_inline void nat6_rewrite_ip(struct pkt6 *p, const struct xfwd_flow6 *f)
{
	addr6_copy(p->ip->saddr, f->new_saddr);
	addr6_copy(p->ip->daddr, f->new_daddr);
}

/* Translate a TCP/UDP packet as its entry says. Packet pointers are stale
 * afterwards in tc. */
static __always_inline void nat6_rewrite(void *ctx, int skb, struct pkt6 *p,
					 const struct xfwd_flow6 *f)
{
	int udp = p->key.proto == IPPROTO_UDP;
	__u32 addr = 0, ports;
	int i;

	nat6_rewrite_ip(p, f);
	p->ports[0] = f->new_sport;
	p->ports[1] = f->new_dport;
	if (!skb) {
		csum_l4(ctx, 0, p->l4_csum, 0, f->l4_csum_delta, udp, 1);
		return;
	}
#pragma unroll
	for (i = 0; i < 4; i++)
		addr += csum_delta32(p->key.saddr[i], f->new_saddr[i]) +
			csum_delta32(p->key.daddr[i], f->new_daddr[i]);
	ports = csum_delta16(p->key.sport, f->new_sport) + csum_delta16(p->key.dport, f->new_dport);
	csum_l4_skb6(ctx, p->l4_csum_off, csum_fold(addr), udp, 1);
	csum_l4_skb6(ctx, p->l4_csum_off, csum_fold(ports), udp, 0);
}

#endif
