/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMPv6 errors about a forwarded IPv6 connection (Destination
 * Unreachable, Packet Too Big, Time Exceeded, Parameter Problem),
 * translated with their quoted packet as nat.h's nat_icmp_err translates
 * ICMP's (RFC 5508's behaviour), and checked first by the same
 * xfwd_icmp_err_check (source.h). IPv6 has no header checksums; the
 * ICMPv6 checksum covers the pseudo-header (RFC 4443 2.3), so the outer
 * addresses move it too.
 */
#ifndef XFWD_BPF_ICMP6_H
#define XFWD_BPF_ICMP6_H

#include "common.h"
#include "csum.h"
#include "parse6.h"
#include "source.h"
#include "nat.h"
#include "nat6.h"

/* Per CPU: the addresses xfwd_icmp_err_check reads, off the IPv6
 * program's stack (68 bytes it has no room for). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct icmp_err_addrs);
} xfwd_icmp6_scratch SEC(".maps");

/* xfwd_icmp_err_check for a parsed ICMPv6 error arriving on side. */
static __always_inline int icmp6_err_check(struct xdp_md *ctx, const struct pkt6 *p, __u8 side,
					   const struct xfwd_config *cfg)
{
	__u32 zero = 0;
	struct icmp_err_addrs *a = bpf_map_lookup_elem(&xfwd_icmp6_scratch, &zero);

	if (!a)
		return 0;
	a->v6 = 1;
	addr6_copy(a->osrc, p->ip->saddr);
	addr6_copy(a->odst, p->ip->daddr);
	addr6_copy(a->isrc, p->inner->saddr);
	addr6_copy(a->idst, p->inner->daddr);
	return xfwd_icmp_err_check(ctx, a, side == XFWD_SIDE_LAN, cfg);
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

/*
 * Translate an ICMPv6 error quoting a packet of a flow, given the entry of
 * the direction opposite to the quoted packet (nat_icmp_err): the outer
 * destination becomes what that entry's packets are sent to, the outer
 * source the translated one if the error speaks for a translated host, the
 * quoted packet what the other side sent, its TCP/UDP checksum following
 * its addresses and ports when the quote holds it. The ICMPv6 checksum is
 * left to the caller: *outer is what the outer addresses (pseudo-header)
 * move it by, *quote what the quote does.
 */
static __always_inline void nat6_icmp_err_fields(struct pkt6 *p, const struct xfwd_flow6 *f,
						 __u32 *outer, __u32 *quote)
{
	struct ip6hdr *ip = p->ip, *in = p->inner;
	__u16 isport = p->inner_ports[0], idport = p->inner_ports[1];
	__u32 o = 0, in_ip, in_ports;
	int xl = icmp_err_src_xlated(addr6_eq(ip->saddr, p->key.saddr), f->side);

	if (xl)
		o = addr6_delta(ip->saddr, f->new_saddr);
	o += addr6_delta(ip->daddr, f->new_daddr);
	in_ip = addr6_delta(in->saddr, f->new_daddr) + addr6_delta(in->daddr, f->new_saddr);
	in_ports = csum_delta16(isport, f->new_dport) + csum_delta16(idport, f->new_sport);
	*quote = in_ip + in_ports +
		 icmp_quote_l4(p->inner_l4_csum, p->inner_l4_csum_ok, in_ip + in_ports,
			       p->key.proto == IPPROTO_UDP);
	*outer = o;
	addr6_copy(in->saddr, f->new_daddr);
	addr6_copy(in->daddr, f->new_saddr);
	p->inner_ports[0] = f->new_dport;
	p->inner_ports[1] = f->new_sport;
	if (xl)
		addr6_copy(ip->saddr, f->new_saddr);
	addr6_copy(ip->daddr, f->new_daddr);
}

/* XDP: the ICMPv6 checksum updated in place. A function of its own (not
 * inlined): its arithmetic has no room on the IPv6 program's stack. */
static __attribute__((noinline)) int nat6_icmp_err_xdp(struct pkt6 *p, const struct xfwd_flow6 *f)
{
	__u32 outer, quote;

	nat6_icmp_err_fields(p, f, &outer, &quote);
	csum_l4(0, 0, p->l4_csum, 0, csum_fold(outer) + csum_fold(quote), 0, 0);
	return 0;
}

/* tc: through bpf_l4_csum_replace, the outer addresses as pseudo-header.
 * Packet pointers are stale afterwards. */
static __attribute__((noinline)) int nat6_icmp_err_skb(struct __sk_buff *skb, struct pkt6 *p,
						       const struct xfwd_flow6 *f)
{
	__u32 outer, quote;

	nat6_icmp_err_fields(p, f, &outer, &quote);
	csum_l4_skb6(skb, p->l4_csum_off, csum_fold(outer), 0, 1);
	csum_l4_skb6(skb, p->l4_csum_off, csum_fold(quote), 0, 0);
	return 0;
}

#endif
