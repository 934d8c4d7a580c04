/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsing with full bounds checks, for XDP frames and skbs alike. A
 * packet is ours only if every header is complete, tot_len fits in the frame,
 * and nothing needs more than a plain rewrite (no options, no fragments).
 * ICMP errors quoting a TCP/UDP packet are parsed down to the quoted ports.
 */
#ifndef XFWD_BPF_PARSE_H
#define XFWD_BPF_PARSE_H

#include "common.h"
#include "tcp_window.h"

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct icmp_hdr {
	__u8 type;
	__u8 code;
	__u16 check;
	__u32 rest;
};

#define ICMP_ECHOREPLY		0
#define ICMP_ECHO		8
#define ICMP_DEST_UNREACH	3
#define ICMP_TIME_EXCEEDED	11
#define ICMP_PARAMETERPROB	12

struct pkt {
	struct iphdr *ip;	/* the frame starts at data (no pointer kept: stack) */
	__u16 *l4_csum;		/* TCP/UDP checksum; ICMP's for an error */
	__u16 *ports;		/* sport, dport */
	__u32 len;		/* IPv4 total length, host order */
	__u16 l3_off;		/* offsets from the frame start, for the skb helpers */
	__u16 l4_csum_off;
	__u8 vlan;		/* one 802.1Q tag sits between eth and ip */
	__u8 tcp_flags;
	__u8 icmp_err;		/* an ICMP error: key is the quoted packet's, reversed */
	__u8 icmp_echo;		/* ICMP_ECHO or ICMP_ECHOREPLY + 1 (0: not an echo) */
	__u8 inner_l4_csum_ok;	/* the quoted TCP/UDP checksum is in the frame */
	__u8 frag;		/* the first fragment of a datagram (MF, offset 0) */
	struct iphdr *inner;	/* ICMP errors: the quoted IP header, */
	__u16 *inner_ports;	/* its ports */
	__u16 *inner_l4_csum;	/* and its L4 checksum when inner_l4_csum_ok */
	struct xfwd_flow_key key;
};

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "key_set packs struct xfwd_flow_key for a little-endian target"
#endif

/* Fill a flow key with two word stores: the lookups read it back by words,
 * and a load spanning several narrower stores waits for them to retire. */
static __always_inline void key_set(struct xfwd_flow_key *k, __u32 saddr, __u32 daddr,
				    __u16 sport, __u16 dport, __u8 proto)
{
	__u64 *w = (__u64 *)k;

	w[0] = (__u64)saddr | (__u64)daddr << 32;
	w[1] = (__u64)sport | (__u64)dport << 16 | (__u64)proto << 32;
}

/* Where a quoted TCP/UDP header's checksum is, if the error carries it
 * (room: bytes quoted from ports on; a quoted UDP checksum of 0 means none):
 * 1 and *csum, or 0. Both families' errors. */
static __always_inline int quote_l4_csum(void *data_end, __u8 proto, __u16 *ports, __u32 room,
					 __u16 **csum)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *t = (void *)ports;

		if ((void *)&t->check + sizeof(t->check) > data_end ||
		    room < offsetof(struct tcphdr, check) + sizeof(t->check))
			return 0;
		*csum = &t->check;
		return 1;
	} else {
		struct udphdr *u = (void *)ports;

		if ((void *)(u + 1) > data_end || room < sizeof(*u) || !u->check)
			return 0;
		*csum = &u->check;
		return 1;
	}
}

/* The quoted packet of an ICMP error (RFC 792: IP header + 8 bytes at least).
 * room is what the ICMP message holds after its header: what lies past it
 * in the frame is padding, not part of the quote. */
static __always_inline int parse_icmp_err(void *data_end, struct pkt *p, struct icmp_hdr *icmp,
					  __u32 room)
{
	struct iphdr *in = (void *)(icmp + 1);
	__u16 *ports = (void *)(in + 1);

	if ((void *)(ports + 2) > data_end || room < sizeof(*in) + 4)
		return XFWD_CNT_PASS_MALFORMED;
	if (in->version != 4 || in->ihl != 5 ||
	    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
		return XFWD_CNT_PASS_NOT_TCPUDP;
	p->inner = in;
	p->inner_ports = ports;
	p->inner_l4_csum_ok = quote_l4_csum(data_end, in->protocol, ports, room - sizeof(*in),
					    &p->inner_l4_csum);
	/* The connection's entry is the one whose packets flow the other way. */
	key_set(&p->key, in->daddr, in->saddr, ports[1], ports[0], in->protocol);
	p->icmp_err = 1;
	p->l4_csum = &icmp->check;
	p->ports = ports;	/* never used for an error; keeps every path's pointers valid */
	p->tcp_flags = 0;
	return XFWD_OK;
}

/*
 * data..data_end is what can be read directly (an skb's linear part);
 * frame_len is the whole frame, which tot_len must fit in. Returns XFWD_OK,
 * XFWD_FRAG_LATER, XFWD_IPV6, or the counter that says why the packet is
 * not ours.
 */
static __always_inline int parse_pkt(void *data, void *data_end, __u32 frame_len, struct pkt *p)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__u16 proto;
	__u32 l4_room;

	if ((void *)(eth + 1) > data_end)
		return XFWD_CNT_PASS_MALFORMED;
	proto = eth->h_proto;
	ip = (void *)(eth + 1);
	p->vlan = 0;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if ((void *)(vh + 1) > data_end)
			return XFWD_CNT_PASS_MALFORMED;
		proto = vh->encap_proto;
		ip = (void *)(vh + 1);
		p->vlan = 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return proto == bpf_htons(ETH_P_IPV6) ? XFWD_IPV6 : XFWD_CNT_PASS_NOT_IPV4;
	if (eth->h_dest[0] & 1)
		return XFWD_CNT_PASS_L2_MULTICAST;
	if ((void *)(ip + 1) > data_end)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->ihl != 5)
		return XFWD_CNT_PASS_IP_OPTIONS;
	p->l3_off = (void *)ip - data;
	p->len = bpf_ntohs(ip->tot_len);
	if (p->len < sizeof(*ip) || p->l3_off + p->len > frame_len)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->ttl <= 1)
		return XFWD_CNT_PASS_TTL;
	p->ip = ip;
	p->icmp_err = 0;
	p->icmp_echo = 0;
	p->frag = 0;
	if (ip->frag_off & bpf_htons(IP_OFFSET)) {
		if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP &&
		    ip->protocol != IPPROTO_ICMP)
			return XFWD_CNT_PASS_NOT_TCPUDP;
		key_set(&p->key, ip->saddr, ip->daddr, 0, 0, ip->protocol);
		return XFWD_FRAG_LATER;
	}
	if (ip->frag_off & bpf_htons(IP_MF))
		p->frag = 1;

	l4_room = p->len - sizeof(*ip);
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(ip + 1);

		if ((void *)(tcp + 1) > data_end || l4_room < sizeof(*tcp))
			return XFWD_CNT_PASS_MALFORMED;
		if (tcp->doff < 5 || tcp->doff * 4 > l4_room)
			return XFWD_CNT_PASS_MALFORMED;
		p->l4_csum = &tcp->check;
		p->tcp_flags = ((__u8 *)tcp)[13];
		tcp_seg_set(tcp, l4_room);
	} else if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = (void *)(ip + 1);
		__u16 ulen;

		if ((void *)(udp + 1) > data_end || l4_room < sizeof(*udp))
			return XFWD_CNT_PASS_MALFORMED;
		ulen = bpf_ntohs(udp->len);
		/* A first fragment holds part of what the UDP length covers. */
		if (ulen < sizeof(*udp) || (ulen > l4_room && !p->frag))
			return XFWD_CNT_PASS_MALFORMED;
		p->l4_csum = &udp->check;
		p->tcp_flags = 0;
	} else if (ip->protocol == IPPROTO_ICMP) {
		struct icmp_hdr *icmp = (void *)(ip + 1);
		int rc;

		if ((void *)(icmp + 1) > data_end || l4_room < sizeof(*icmp))
			return XFWD_CNT_PASS_MALFORMED;
		if (icmp->type == ICMP_ECHO || icmp->type == ICMP_ECHOREPLY) {
			/* The identifier plays the port: the request's source
			 * port, the reply's destination port. */
			__u16 *id = (void *)&icmp->rest;

			p->icmp_echo = icmp->type + 1;
			p->l4_csum = &icmp->check;
			p->tcp_flags = 0;
			p->ports = id;
			p->l4_csum_off = (void *)p->l4_csum - data;
			key_set(&p->key, ip->saddr, ip->daddr, icmp->type == ICMP_ECHO ? *id : 0,
				icmp->type == ICMP_ECHO ? 0 : *id, IPPROTO_ICMP);
			return XFWD_OK;
		}
		if (icmp->type != ICMP_DEST_UNREACH && icmp->type != ICMP_TIME_EXCEEDED &&
		    icmp->type != ICMP_PARAMETERPROB)
			return XFWD_CNT_PASS_NOT_TCPUDP;
		if (p->frag)	/* an error fits in one packet: a fragmented one is not ours */
			return XFWD_CNT_PASS_FRAGMENT;
		rc = parse_icmp_err(data_end, p, icmp, l4_room - sizeof(*icmp));
		if (rc == XFWD_OK)
			p->l4_csum_off = (void *)p->l4_csum - data;
		return rc;
	} else {
		return XFWD_CNT_PASS_NOT_TCPUDP;
	}
	p->ports = (void *)(ip + 1);
	p->l4_csum_off = (void *)p->l4_csum - data;
	key_set(&p->key, ip->saddr, ip->daddr, p->ports[0], p->ports[1], ip->protocol);
	return XFWD_OK;
}

#endif
