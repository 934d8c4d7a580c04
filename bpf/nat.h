/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The NAT rewrite, one implementation for XDP and tc. Fields are written
 * directly; only the checksum step differs: XDP folds the flow's precomputed
 * deltas in itself, tc goes through bpf_l3/l4_csum_replace so the skb's
 * checksum state stays right (CHECKSUM_PARTIAL packets carry only the
 * pseudo-header sum, which port changes must not touch). `skb` is a constant
 * at every call site, so each program keeps only its own branch.
 */
#ifndef XFWD_BPF_NAT_H
#define XFWD_BPF_NAT_H

#include "common.h"
#include "csum.h"
#include "parse.h"

static __always_inline void csum_l3(void *ctx, int skb, __u16 *field, __u32 off, __u32 delta)
{
	if (skb)
		bpf_l3_csum_replace(ctx, off, 0, delta, 0);
	else
		*field = csum_apply(*field, delta);
}

/* pseudo: the delta is of pseudo-header fields (addresses). */
static __always_inline void csum_l4(void *ctx, int skb, __u16 *field, __u32 off, __u32 delta,
				    int udp, int pseudo)
{
	__u16 c;

	if (skb) {
		bpf_l4_csum_replace(ctx, off, 0, delta, (pseudo ? BPF_F_PSEUDO_HDR : 0) |
				    (udp ? BPF_F_MARK_MANGLED_0 : 0));
		return;
	}
	c = *field;
	if (udp && !c)		/* no UDP checksum: stays none */
		return;
	c = csum_apply(c, delta);
	*field = (udp && !c) ? 0xffff : c;
}

/* Echo's identifier, its one "port", as an entry translates it (both
 * families): a request's becomes the new source port, a reply's the new
 * destination port. Returns what the change moves the checksum by (an
 * entry's port delta is of both of its key's ports). */
static __always_inline __u32 echo_id_rewrite(__u16 *id, __u8 echo, __u16 new_sport, __u16 new_dport)
{
	__u16 old = *id;

	*id = echo == ICMP_ECHO + 1 ? new_sport : new_dport;
	return csum_delta16(old, *id);
}

/* Translate a TCP/UDP packet or ICMP echo as its flow entry says. Packet
 * pointers are stale afterwards in tc (the helpers may move the data). */
static __always_inline void nat_rewrite(void *ctx, int skb, struct pkt *p,
					const struct xfwd_flow *f)
{
	int udp = p->key.proto == IPPROTO_UDP;
	int echo = p->icmp_echo;	/* no pseudo-header in the ICMP checksum */
	__u32 l4_delta = f->port_csum_delta;

	p->ip->saddr = f->new_saddr;
	p->ip->daddr = f->new_daddr;
	if (echo) {
		l4_delta = echo_id_rewrite(p->ports, echo, f->new_sport, f->new_dport);
	} else {
		p->ports[0] = f->new_sport;
		p->ports[1] = f->new_dport;
	}
	if (skb) {
		csum_l3(ctx, 1, 0, p->l3_off + offsetof(struct iphdr, check), f->ip_csum_delta);
		if (!echo)
			csum_l4(ctx, 1, 0, p->l4_csum_off, f->ip_csum_delta, udp, 1);
		csum_l4(ctx, 1, 0, p->l4_csum_off, l4_delta, udp, 0);
	} else {
		p->ip->check = csum_apply(p->ip->check, f->ip_csum_delta);
		csum_l4(ctx, 0, p->l4_csum, 0, (echo ? 0 : f->ip_csum_delta) + l4_delta, udp, 1);
	}
}

/* Translate a later fragment of a datagram (no L4 header: what the first
 * fragment's L4 checksum update covered already). Addresses only. */
static __always_inline void nat_rewrite_ip(void *ctx, int skb, struct pkt *p,
					   const struct xfwd_flow *f)
{
	p->ip->saddr = f->new_saddr;
	p->ip->daddr = f->new_daddr;
	csum_l3(ctx, skb, &p->ip->check, p->l3_off + offsetof(struct iphdr, check),
		f->ip_csum_delta);
}

/*
 * What both families' ICMP error translation shares (RFC 5508). An error
 * from the host the quoted packet went to speaks for the address that
 * host was translated from; a router in between stays, unless it is on
 * the LAN: whoever sends it from there (a router, or a host forging errors
 * about another's flow), no private address leaves by the public side
 * (RFC 5508: the outer source is the translated one). from_receiver: the
 * error's source is the quoted packet's destination; side: the entry's.
 */
static __always_inline int icmp_err_src_xlated(int from_receiver, __u8 side)
{
	return from_receiver || side == XFWD_SIDE_LAN;
}

/* The quoted TCP/UDP checksum, when the quote holds it (present), follows
 * its packet's addresses and ports (delta: theirs, as the quoted packet's
 * own checksum sees them); a UDP one that comes out 0 is written 0xffff.
 * Returns what the change moves the ICMP checksum by. */
static __always_inline __u32 icmp_quote_l4(__u16 *field, int present, __u32 delta, int udp)
{
	__u16 old, new;

	if (!present)
		return 0;
	old = *field;
	new = csum_apply(old, delta);
	if (udp && !new)
		new = 0xffff;
	*field = new;
	return csum_delta16(old, new);
}

/*
 * Translate an ICMP error quoting a packet of a flow (RFC 5508), given the
 * entry of the direction opposite to the quoted packet: the outer
 * destination becomes what that entry's packets are sent to, the quoted
 * packet becomes what the other side sent, and every checksum follows
 * (outer IP, ICMP, quoted IP, quoted TCP/UDP when present).
 */
static __always_inline void nat_icmp_err(void *ctx, int skb, struct pkt *p,
					 const struct xfwd_flow *f)
{
	struct iphdr *ip = p->ip, *in = p->inner;
	__u32 osrc = ip->saddr, odst = ip->daddr, nsrc = osrc;
	__u32 isrc = in->saddr, idst = in->daddr;
	__u16 isport = p->inner_ports[0], idport = p->inner_ports[1];
	__u16 icheck = in->check, ncheck;
	__u32 in_ip, in_ports, icmp;

	if (icmp_err_src_xlated(osrc == p->key.saddr, f->side))
		nsrc = f->new_saddr;

	in_ip = csum_delta32(isrc, f->new_daddr) + csum_delta32(idst, f->new_saddr);
	in_ports = csum_delta16(isport, f->new_dport) + csum_delta16(idport, f->new_sport);
	ncheck = csum_apply(icheck, in_ip);
	icmp = in_ip + csum_delta16(icheck, ncheck) + in_ports +
	       icmp_quote_l4(p->inner_l4_csum, p->inner_l4_csum_ok, in_ip + in_ports,
			     in->protocol == IPPROTO_UDP);
	in->saddr = f->new_daddr;
	in->daddr = f->new_saddr;
	in->check = ncheck;
	p->inner_ports[0] = f->new_dport;
	p->inner_ports[1] = f->new_sport;
	ip->saddr = nsrc;
	ip->daddr = f->new_daddr;

	csum_l4(ctx, skb, p->l4_csum, p->l4_csum_off, csum_fold(icmp), 0, 0);
	csum_l3(ctx, skb, &ip->check, p->l3_off + offsetof(struct iphdr, check),
		csum_fold(csum_delta32(osrc, nsrc) + csum_delta32(odst, f->new_daddr)));
}

#endif
