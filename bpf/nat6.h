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

/* The sum of an IPv6 address's 16-bit words (unfolded). */
static __always_inline __u32 addr6_sum(const __u32 *a)
{
	return (a[0] & 0xffff) + (a[0] >> 16) + (a[1] & 0xffff) + (a[1] >> 16) +
	       (a[2] & 0xffff) + (a[2] >> 16) + (a[3] & 0xffff) + (a[3] >> 16);
}

/* csum_delta32 of a whole IPv6 address changing from a to b (~m + m'
 * word by word: ~h is 0xffff - h); one sum live at a time. */
static __always_inline __u32 addr6_delta(const __u32 *a, const __u32 *b)
{
	return 8 * 0xffff - addr6_sum(a) + addr6_sum(b);
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

/* Translate a TCP/UDP packet or ICMPv6 echo as its entry says. Packet
 * pointers are stale afterwards in tc. */
static __always_inline void nat6_rewrite(void *ctx, int skb, struct pkt6 *p,
					 const struct xfwd_flow6 *f)
{
	int udp = p->key.proto == IPPROTO_UDP, echo = p->icmp_echo;
	__u32 addr, ports;

	nat6_rewrite_ip(p, f);
	if (echo) {
		ports = echo_id_rewrite(p->ports, echo, f->new_sport, f->new_dport);
	} else {
		p->ports[0] = f->new_sport;
		p->ports[1] = f->new_dport;
		if (!skb) {
			csum_l4(ctx, 0, p->l4_csum, 0, f->l4_csum_delta, udp, 1);
			return;
		}
		ports = csum_delta16(p->key.sport, f->new_sport) +
			csum_delta16(p->key.dport, f->new_dport);
	}
	addr = addr6_delta(p->key.saddr, f->new_saddr) + addr6_delta(p->key.daddr, f->new_daddr);
	if (!skb) {
		csum_l4(ctx, 0, p->l4_csum, 0, csum_fold(addr) + csum_fold(ports), 0, 1);
		return;
	}
	csum_l4_skb6(ctx, p->l4_csum_off, csum_fold(addr), udp, 1);
	csum_l4_skb6(ctx, p->l4_csum_off, csum_fold(ports), udp, 0);
}

#endif
