/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 header parsing, for XDP frames and skbs alike, with parse.h's rules:
 * every header complete, the payload length within the frame, nothing that
 * needs more than a plain rewrite. Hop-by-Hop, Destination Options and
 * Routing headers are stepped over; a Fragment header, ICMPv6 but its
 * errors (NDP must reach the kernel) and any other upper layer than TCP/UDP
 * are not ours. A Fragment header (RFC 8200 4.5) is parse.h's fragment
 * bits: a first fragment (offset 0, M) is parsed on to its TCP/UDP header,
 * which it must hold whole (RFC 7112: else pass_malformed); a later one
 * (offset > 0) is XFWD_FRAG_LATER (frag.h finds its datagram); an atomic
 * fragment (offset 0, no M: RFC 6946) is a whole datagram, parsed as one.
 * An ICMPv6 error is parsed down to its quoted packet's ports
 * (parse_icmp6_err), as parse.h parses ICMP's.
 */
#ifndef XFWD_BPF_PARSE6_H
#define XFWD_BPF_PARSE6_H

#include "common.h"
#include "parse.h"
#include "tcp_window.h"

#ifndef ETH_P_IPV6
#define ETH_P_IPV6	0x86DD
#endif
#ifndef AF_INET6
#define AF_INET6	10
#endif

#define NEXTHDR_HOP		0
#define NEXTHDR_ROUTING		43
#define NEXTHDR_FRAGMENT	44
#define NEXTHDR_DEST		60
#define NEXTHDR_ICMP6		58

/* ICMPv6 errors (RFC 4443), each quoting the packet it is about. */
#define ICMP6_DEST_UNREACH	1
#define ICMP6_PKT_TOOBIG	2
#define ICMP6_TIME_EXCEED	3
#define ICMP6_PARAMPROB		4

#define IP6_EXT_MAX	4	/* extension headers stepped over, at most */
#define IP6_EXT_BYTES	256	/* and their bytes: past that, passed up */

struct ip6hdr {
	__be32 vtc_flow;	/* version, traffic class, flow label */
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u32 saddr[4];
	__u32 daddr[4];
};

/* An IPv6 datagram in fragments, as its fragments arrive: frag.h's key. */
struct xfwd_frag6_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u32 id;	/* the Fragment header's identification, network order */
	__u8 proto;	/* the Fragment header's next header (every fragment's) */
	__u8 side;	/* enum xfwd_side it arrived on */
	__u8 pad[2];
};

/* The key of the fragment being handled, per CPU: the programs' stacks
 * have no room for it (frag.h fills it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xfwd_frag6_key);
} xfwd_frag6_cur SEC(".maps");

struct pkt6 {
	struct ip6hdr *ip;
	__u16 *l4_csum;		/* TCP/UDP checksum; ICMPv6's for an error */
	__u16 *ports;		/* sport, dport */
	__u32 len;		/* the whole IPv6 packet: 40 + payload length */
	__u32 l4_len;		/* what the checksum covers (the pseudo-header's length) */
	__u16 l3_off;		/* offsets from the frame start, for the skb helpers */
	__u16 l4_off;
	__u16 l4_csum_off;
	__u8 vlan;		/* one 802.1Q tag sits between eth and ip */
	__u8 tcp_flags;
	__u8 icmp_err;		/* an ICMPv6 error: key is the quoted packet's, reversed */
	__u8 inner_l4_csum_ok;	/* the quoted TCP/UDP checksum is in the message */
	struct ip6hdr *inner;	/* ICMPv6 errors: the quoted IPv6 header, */
	__u16 *inner_ports;	/* its ports */
	__u16 *inner_l4_csum;	/* and its L4 checksum when inner_l4_csum_ok */
	struct xfwd_flow6_key key;
	/* Fragments, in 8-byte words of their own: a write beside a field in
	 * the same word of the stack makes the verifier forget its value
	 * (icmp_err's 0, which prunes the error paths). */
	__u16 frag_part_off;	/* 0, or a Fragment header's fragmentable part: where
				 * it starts (from the frame start), */
	__u16 frag_off;		/* its offset in bytes (later fragments), */
	__u8 frag_more;		/* M: more follow, */
	__u8 frag_nh;		/* its next header (every fragment's), */
	__u8 frag_pad[2];
	__u32 frag_id;		/* and its identification, network order */
	__u8 frag;		/* the first fragment of a datagram (offset 0, M) */
};

/* Multicast (ff00::/8): never a source, never a connection's destination. */
static __always_inline int addr6_multicast(const __u32 *a)
{
	return (a[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000);
}

/* Link-local (fe80::/10): its scope is one link, never forwarded. */
static __always_inline int addr6_linklocal(const __u32 *a)
{
	return (a[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000);
}

static __always_inline int addr6_eq(const __u32 *a, const __u32 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int addr6_zero(const __u32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static __always_inline void addr6_copy(__u32 *d, const __u32 *s)
{
	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
	d[3] = s[3];
}

/* Per CPU: a number passed through memory the verifier does not follow
 * (scalar_opaque). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xfwd_opaque SEC(".maps");

/* v, as a number the verifier knows nothing of: paths that computed it
 * differently then verify as one. */
static __always_inline __u32 scalar_opaque(__u32 v)
{
	__u32 zero = 0, *m = bpf_map_lookup_elem(&xfwd_opaque, &zero);

	if (!m)
		return 0xffff;
	*(volatile __u32 *)m = v;
	return *(volatile __u32 *)m;
}

/*
 * The quoted packet of an ICMPv6 error: its IPv6 header and at least its
 * ports, within the message (room: the bytes after the ICMPv6 header; a
 * quote is cut wherever 1280 bytes end, RFC 4443 2.4). Extension headers
 * in the quote are stepped over as the packet's own (up to IP6_EXT_MAX,
 * IP6_EXT_BYTES), a Fragment header too when it quotes a first fragment
 * (or an atomic one): the ports follow. A quoted later fragment has none
 * (pass_fragment).
 */
static __always_inline int parse_icmp6_err(void *data_end, struct pkt6 *p, __u8 *icmp, __u32 room)
{
	struct ip6hdr *in = (void *)(icmp + 8);
	__u32 qoff = sizeof(*in), i;
	__u16 *ports;
	__u8 nh;

	if ((void *)(in + 1) > data_end || room < sizeof(*in) + 4)
		return XFWD_CNT_PASS_MALFORMED;
	if ((in->vtc_flow & bpf_htonl(0xf0000000)) != bpf_htonl(0x60000000))
		return XFWD_CNT_PASS_NOT_TCPUDP;
	nh = in->nexthdr;
	for (i = 0; i < IP6_EXT_MAX; i++) {
		__u8 *x;

		if (nh != NEXTHDR_HOP && nh != NEXTHDR_DEST && nh != NEXTHDR_ROUTING &&
		    nh != NEXTHDR_FRAGMENT)
			break;
		if (qoff > sizeof(*in) + IP6_EXT_BYTES)
			return XFWD_CNT_PASS_IP_OPTIONS;
		x = (__u8 *)in + (qoff & 0x1ff);
		if ((void *)(x + 8) > data_end || qoff + 8 > room)
			return XFWD_CNT_PASS_MALFORMED;
		if (nh == NEXTHDR_FRAGMENT && (x[2] | (x[3] & 0xf8)))
			return XFWD_CNT_PASS_FRAGMENT;
		qoff += nh == NEXTHDR_FRAGMENT ? 8 : ((__u32)x[1] + 1) * 8;
		nh = x[0];
	}
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
		return nh == NEXTHDR_HOP || nh == NEXTHDR_DEST || nh == NEXTHDR_ROUTING ||
		       nh == NEXTHDR_FRAGMENT ? XFWD_CNT_PASS_IP_OPTIONS : XFWD_CNT_PASS_NOT_TCPUDP;
	/* Any number to the verifier from here (one state whatever the
	 * walk found: else each is verified on to the end). */
	qoff = scalar_opaque(qoff);
	if (qoff > sizeof(*in) + IP6_EXT_BYTES + 8)
		return XFWD_CNT_PASS_IP_OPTIONS;
	ports = (void *)((__u8 *)in + (qoff & 0x1ff));
	if ((void *)(ports + 2) > data_end || room < qoff + 4)
		return XFWD_CNT_PASS_MALFORMED;
	p->inner = in;
	p->inner_ports = ports;
	p->inner_l4_csum_ok = quote_l4_csum(data_end, nh, ports, room - qoff, &p->inner_l4_csum);
	/* The connection's entry is the one whose packets flow the other way. */
	__builtin_memcpy(p->key.saddr, in->daddr, 16);
	__builtin_memcpy(p->key.daddr, in->saddr, 16);
	p->key.sport = ports[1];
	p->key.dport = ports[0];
	p->key.proto = nh;
	p->key.pad[0] = p->key.pad[1] = p->key.pad[2] = 0;
	p->icmp_err = 1;
	p->l4_csum = (__u16 *)(icmp + 2);
	p->ports = ports;	/* never used for an error; keeps every path's pointers valid */
	p->tcp_flags = 0;
	return XFWD_OK;
}

/*
 * A Fragment header at x (8 bytes, in the frame), off from the frame start:
 * XFWD_OK to parse on (a first fragment: p->frag; an atomic fragment: as a
 * whole packet), XFWD_FRAG_LATER for a later fragment of a datagram xfwd
 * may have translated (p->frag_* and l4_off, its data, set; the key not),
 * or the counter to pass by. Its next header is every fragment's:
 * the datagram's key.
 */
static __always_inline int frag6_hdr(struct pkt6 *p, const __u8 *x, __u32 off)
{
	__u16 fo = bpf_ntohs(*(const __u16 *)(x + 2));

	if (p->frag_part_off)	/* a second Fragment header */
		return XFWD_CNT_PASS_MALFORMED;
	p->frag_part_off = off + 8;
	p->frag_off = fo & 0xfff8;
	p->frag_more = fo & 1;
	p->frag_nh = x[0];
	p->frag_id = *(const __u32 *)(x + 4);
	if (!p->frag_off && !p->frag_more)
		return XFWD_OK;	/* atomic: the whole datagram */
	if (!p->frag_off) {
		p->frag = 1;
		return XFWD_OK;
	}
	/* Only TCP and UDP datagrams (Destination Options may come first)
	 * are ever translated. */
	if (x[0] != IPPROTO_TCP && x[0] != IPPROTO_UDP && x[0] != NEXTHDR_DEST)
		return XFWD_CNT_PASS_NOT_TCPUDP;
	p->l4_off = off + 8;	/* its data: what identifies it to tc (finish.h) */
	return XFWD_FRAG_LATER;
}

/*
 * The IPv6 packet after the Ethernet header (and an optional 802.1Q tag)
 * at data; frame_len as parse_pkt's. XFWD_OK, or the counter that says why
 * the packet is not ours.
 */
static __always_inline int parse_pkt6(void *data, void *data_end, __u32 frame_len, struct pkt6 *p)
{
	struct ethhdr *eth = data;
	struct ip6hdr *ip;
	__u32 off, end, i;
	__u16 proto;
	__u8 nh;

	p->frag = 0;
	p->frag_part_off = 0;
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
	if (proto != bpf_htons(ETH_P_IPV6))
		return XFWD_CNT_PASS_MALFORMED;	/* the caller saw IPv6: cannot happen */
	if (eth->h_dest[0] & 1)
		return XFWD_CNT_PASS_L2_MULTICAST;
	if ((void *)(ip + 1) > data_end)
		return XFWD_CNT_PASS_MALFORMED;
	if ((ip->vtc_flow & bpf_htonl(0xf0000000)) != bpf_htonl(0x60000000))
		return XFWD_CNT_PASS_MALFORMED;
	p->l3_off = (void *)ip - data;
	/* A jumbogram (payload length 0, RFC 2675) is left to the kernel:
	 * its TCP/UDP header cannot fit in 0 bytes (malformed below). */
	p->len = sizeof(*ip) + bpf_ntohs(ip->payload_len);
	if (p->l3_off + p->len > frame_len)
		return XFWD_CNT_PASS_MALFORMED;
	if (ip->hop_limit <= 1)
		return XFWD_CNT_PASS_TTL;	/* the kernel sends Time Exceeded */
	/* A multicast source is malformed (RFC 4291 2.7); link-local
	 * addresses and multicast destinations never cross a router: no
	 * connection of xfwd's has them (pass_no_match), the kernel's own
	 * (NDP, router solicitations, mDNS) go up untouched. */
	if (addr6_multicast(ip->saddr))
		return XFWD_CNT_PASS_MALFORMED;
	if (addr6_multicast(ip->daddr) || addr6_linklocal(ip->saddr) || addr6_linklocal(ip->daddr))
		return XFWD_CNT_PASS_NO_MATCH;
	p->ip = ip;
	p->icmp_err = 0;

	/* Extension headers: each (but the Fragment header, which is fixed
	 * size, frag6_hdr) starts with the next header and its length in
	 * 8-byte units, not counting the first 8. */
	end = p->l3_off + p->len;
	off = p->l3_off + sizeof(*ip);
	nh = ip->nexthdr;
	for (i = 0; i < IP6_EXT_MAX; i++) {
		__u8 *x;

		if (nh != NEXTHDR_HOP && nh != NEXTHDR_DEST && nh != NEXTHDR_ROUTING &&
		    nh != NEXTHDR_FRAGMENT)
			break;
		if (off > p->l3_off + sizeof(*ip) + IP6_EXT_BYTES)
			return XFWD_CNT_PASS_IP_OPTIONS;
		x = data + (off & 0x1ff);
		if ((void *)(x + 8) > data_end || off + 8 > end)
			return XFWD_CNT_PASS_MALFORMED;
		if (nh == NEXTHDR_FRAGMENT) {
			int rc = frag6_hdr(p, x, off);

			if (rc != XFWD_OK)
				return rc;
			nh = x[0];
			off += 8;
			continue;
		}
		/* A route with segments left ends at another address than the
		 * destination the header shows: not a tuple to translate. */
		if (nh == NEXTHDR_ROUTING && x[3])
			return XFWD_CNT_PASS_IP_OPTIONS;
		nh = x[0];
		off += ((__u32)x[1] + 1) * 8;
	}
	if (nh == NEXTHDR_HOP || nh == NEXTHDR_DEST || nh == NEXTHDR_ROUTING ||
	    nh == NEXTHDR_FRAGMENT)
		return XFWD_CNT_PASS_IP_OPTIONS;
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP && nh != NEXTHDR_ICMP6)
		return XFWD_CNT_PASS_NOT_TCPUDP;
	if (off > p->l3_off + sizeof(*ip) + IP6_EXT_BYTES + 8 * 256 || off > end)
		return XFWD_CNT_PASS_MALFORMED;
	p->l4_off = off;
	p->l4_len = end - off;
	off &= 0xfff;	/* bounded above: for the verifier */
	if (nh == NEXTHDR_ICMP6) {
		__u8 *icmp = data + off;
		int rc;

		/* Errors only: NDP, echo and the rest are the kernel's. */
		if ((void *)(icmp + 8) > data_end || p->l4_len < 8)
			return XFWD_CNT_PASS_NOT_TCPUDP;
		if (icmp[0] < ICMP6_DEST_UNREACH || icmp[0] > ICMP6_PARAMPROB)
			return XFWD_CNT_PASS_NOT_TCPUDP;
		if (p->frag)	/* an error fits in one packet: a fragmented one is not ours */
			return XFWD_CNT_PASS_FRAGMENT;
		rc = parse_icmp6_err(data_end, p, icmp, p->l4_len - 8);
		if (rc == XFWD_OK)
			p->l4_csum_off = (void *)p->l4_csum - data;
		return rc;
	}
	if (nh == IPPROTO_TCP) {
		struct tcphdr *tcp = data + off;

		if ((void *)(tcp + 1) > data_end || p->l4_len < sizeof(*tcp))
			return XFWD_CNT_PASS_MALFORMED;
		if (tcp->doff < 5 || tcp->doff * 4 > p->l4_len)
			return XFWD_CNT_PASS_MALFORMED;
		p->l4_csum = &tcp->check;
		p->tcp_flags = ((__u8 *)tcp)[13];
		tcp_seg_set(tcp, p->l4_len);
		p->ports = (void *)tcp;
	} else {
		struct udphdr *udp = data + off;
		__u16 ulen;

		if ((void *)(udp + 1) > data_end || p->l4_len < sizeof(*udp))
			return XFWD_CNT_PASS_MALFORMED;
		ulen = bpf_ntohs(udp->len);
		/* A first fragment holds part of what the UDP length covers. */
		if (ulen < sizeof(*udp) || (ulen > p->l4_len && !p->frag))
			return XFWD_CNT_PASS_MALFORMED;
		if (!p->frag)
			p->l4_len = ulen;
		p->l4_csum = &udp->check;
		p->tcp_flags = 0;
		p->ports = (void *)udp;
	}
	p->l4_csum_off = (void *)p->l4_csum - data;
	__builtin_memcpy(p->key.saddr, ip->saddr, 16);
	__builtin_memcpy(p->key.daddr, ip->daddr, 16);
	p->key.sport = p->ports[0];
	p->key.dport = p->ports[1];
	p->key.proto = nh;
	p->key.pad[0] = p->key.pad[1] = p->key.pad[2] = 0;
	return XFWD_OK;
}

#endif
