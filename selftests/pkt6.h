/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 frames for the BPF_PROG_TEST_RUN tests, pkt.h's way: Ethernet (one
 * optional 802.1Q tag), the IPv6 header, extension headers as given, TCP,
 * UDP or ICMPv6, written byte by byte; the upper-layer checksum computed
 * from scratch over the IPv6 pseudo-header (RFC 8200 8.1) and the whole
 * segment, as a receiver checks it. Nothing is shared with the data path's
 * incremental arithmetic. And the key of a connection's entry (fkey6), for
 * the unit tests and the fuzzer alike.
 */
#ifndef XFWD_SELFTESTS_PKT6_H
#define XFWD_SELFTESTS_PKT6_H

#include "pkt.h"

#define IP6_LEN		40
#define IPPROTO_ICMP6	58
#define NH_HOP		0
#define NH_ROUTING	43
#define NH_FRAGMENT	44
#define NH_DEST		60

/* A frame to build. Addresses are 16 bytes as on the wire, ports host order. */
struct pkt6_spec {
	uint8_t dmac[6], smac[6];
	int vlan;			/* one 802.1Q tag with vlan_tci */
	uint16_t vlan_tci;
	uint8_t tclass;
	uint32_t flow;			/* flow label (20 bits) */
	uint8_t hop_limit;
	uint8_t proto;			/* upper layer: TCP, UDP, ICMPv6 */
	uint8_t saddr[16], daddr[16];
	/* Extension headers, chained already: the IPv6 header's next header
	 * is ext_first, the last one's must name proto. */
	const uint8_t *ext;
	size_t ext_len;
	uint8_t ext_first;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t window;
	const uint8_t *tcp_opts;	/* multiple of 4 bytes */
	size_t tcp_opts_len;
	int udp_csum_zero;		/* UDP checksum field 0 (invalid in IPv6) */
	int csum_bad;			/* the upper-layer checksum off by one */
	const uint8_t *payload;		/* ICMPv6: the whole message (type first) */
	size_t payload_len;
};

/* The key of an IPv6 connection's entry (xfwd_flows6, xfwd_pending6) for
 * the tuple; addresses as on the wire, ports host order as a spec's. */
static inline struct xfwd_flow6_key fkey6(uint8_t proto, const uint8_t *saddr, uint16_t sport,
					  const uint8_t *daddr, uint16_t dport)
{
	struct xfwd_flow6_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr, saddr, 16);
	memcpy(k.daddr, daddr, 16);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	return k;
}

/* Where the upper layer starts in the IPv6 packet at ip (extension headers
 * Hop-by-Hop, Routing, Destination Options stepped over, and a Fragment
 * header at offset 0: a first or atomic fragment holds the upper layer),
 * and its protocol. A first fragment's upper-layer checksum (pkt6_build's,
 * l6_csum_valid's) is then its own bytes', as if they were the datagram. */
static inline size_t ip6_upper(const uint8_t *ip, size_t len, uint8_t *proto)
{
	size_t off = IP6_LEN;
	uint8_t nh = ip[6];

	while (off + 8 <= len &&
	       (nh == NH_HOP || nh == NH_ROUTING || nh == NH_DEST ||
		(nh == NH_FRAGMENT && !(get16(ip + off + 2) & 0xfff8)))) {
		size_t hl = nh == NH_FRAGMENT ? 8 : ((size_t)ip[off + 1] + 1) * 8;

		nh = ip[off];
		off += hl;
	}
	*proto = nh;
	return off;
}

/* The sum of the pseudo-header and the upper-layer segment (its checksum
 * field left out if skip_csum). */
static inline uint64_t l6_sum(const uint8_t *ip, int skip_csum)
{
	size_t end = IP6_LEN + get16(ip + 4), off, len, co;
	uint8_t proto;
	uint64_t s;

	off = ip6_upper(ip, end, &proto);
	len = end - off;
	co = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
	s = sum_words(0, ip + 8, 32);		/* saddr, daddr */
	s += len >> 16;				/* upper-layer length (32 bits) */
	s += len & 0xffff;
	s += proto;				/* zero, next header */
	if (!skip_csum)
		return sum_words(s, ip + off, len);
	s = sum_words(s, ip + off, co);
	return sum_words(s, ip + off + co + 2, len - co - 2);
}

/* The upper-layer checksum as a sender computes it (UDP: 0 is sent as 0xffff). */
static inline uint16_t l6_csum_compute(const uint8_t *ip)
{
	uint16_t c = (uint16_t)~fold16(l6_sum(ip, 1));
	uint8_t proto;

	ip6_upper(ip, IP6_LEN + get16(ip + 4), &proto);
	return proto == IPPROTO_UDP && c == 0 ? 0xffff : c;
}

/* A receiver's check: everything, the checksum included, sums to 0xffff. */
static inline int l6_csum_valid(const uint8_t *ip)
{
	return fold16(l6_sum(ip, 0)) == 0xffff;
}

/* Write the frame into buf (PKT_MAX bytes); returns its length. */
static inline size_t pkt6_build(const struct pkt6_spec *s, uint8_t *buf)
{
	size_t l4hdr = L4_HDR_LEN(s), ip, l4, plen, co;
	uint16_t c;

	ip = eth_put(buf, s->dmac, s->smac, s->vlan, s->vlan_tci, ETHTYPE_IPV6);
	plen = s->ext_len + l4hdr + s->payload_len;
	put32(buf + ip, 6u << 28 | (uint32_t)s->tclass << 20 | (s->flow & 0xfffff));
	put16(buf + ip + 4, (uint16_t)plen);
	buf[ip + 6] = s->ext_len ? s->ext_first : s->proto;
	buf[ip + 7] = s->hop_limit;
	memcpy(buf + ip + 8, s->saddr, 16);
	memcpy(buf + ip + 24, s->daddr, 16);
	if (s->ext_len)
		memcpy(buf + ip + IP6_LEN, s->ext, s->ext_len);
	l4 = ip + IP6_LEN + s->ext_len;
	L4_HDR_PUT(buf + l4, s, l4hdr);
	if (s->payload_len)
		memcpy(buf + l4 + l4hdr, s->payload, s->payload_len);
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP ||
	    (s->proto == IPPROTO_ICMP6 && s->payload_len >= 4)) {
		co = s->proto == IPPROTO_TCP ? 16 : s->proto == IPPROTO_UDP ? 6 : 2;
		c = l6_csum_compute(buf + ip);
		if (s->csum_bad)
			c = (uint16_t)(c + 1);
		if (s->proto == IPPROTO_UDP && s->udp_csum_zero)
			c = 0;
		put16(buf + l4 + co, c);
	}
	return l4 + l4hdr + s->payload_len;
}

/* Where the headers of an IPv6 frame are (0: not IPv6). */
struct frame6 {
	size_t l3, l4, end;
	uint8_t proto;
};

static inline void frame6_parse(const uint8_t *b, size_t len, struct frame6 *f)
{
	size_t off = 12;

	memset(f, 0, sizeof(*f));
	if (len >= 16 && get16(b + 12) == ETHTYPE_VLAN)
		off += 4;
	if (len < off + 2 + IP6_LEN || get16(b + off) != ETHTYPE_IPV6)
		return;
	f->l3 = off + 2;
	f->end = f->l3 + IP6_LEN + get16(b + f->l3 + 4);
	f->l4 = f->l3 + ip6_upper(b + f->l3, len - f->l3, &f->proto);
}

/* The name of the field byte off of IPv6 frame b lies in. */
static inline const char *frame6_field(const uint8_t *b, size_t len, size_t off)
{
	const char *name;
	struct frame6 f;
	size_t o;

	if (off < 6)
		return "eth dst mac";
	if (off < 12)
		return "eth src mac";
	frame6_parse(b, len, &f);
	if (!f.l3)
		return "non-IPv6 content";
	if (off < f.l3)
		return off < f.l3 - 2 ? "vlan tag" : "ethertype";
	o = off - f.l3;
	if (o < 4)
		return "ip6 version/class/flow";
	if (o < 6)
		return "ip6 payload length";
	if (o == 6)
		return "ip6 next header";
	if (o == 7)
		return "ip6 hop limit";
	if (o < 24)
		return "ip6 saddr";
	if (o < 40)
		return "ip6 daddr";
	if (off < f.l4)
		return "ip6 extension headers";
	if (off >= f.end)
		return "padding";
	if (f.proto != IPPROTO_TCP && f.proto != IPPROTO_UDP)
		return "upper layer";
	name = l4_field_name(f.proto, off - f.l4);
	return name ? name : f.proto == IPPROTO_TCP ? "tcp options or payload" : "payload";
}

#endif
