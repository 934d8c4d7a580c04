/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Frames for the BPF_PROG_TEST_RUN tests: Ethernet (with one optional 802.1Q
 * tag), IPv4 (with optional options), TCP or UDP with options and payload.
 *
 * Everything is written byte by byte in network order, without the kernel's
 * header structs, and every checksum is computed from scratch over the whole
 * header or segment (pseudo-header included), the way a receiver checks it.
 * None of this shares code or method with the data path's incremental
 * updates, so a test that compares against it can catch them.
 */
#ifndef XFWD_SELFTESTS_PKT_H
#define XFWD_SELFTESTS_PKT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "xfwd_abi.h"

#define PKT_MAX		3072	/* fits the room BPF_PROG_TEST_RUN gives XDP */
#define ETH_LEN		14
#define VLAN_LEN	4
#define IP4_LEN		20
#define TCP_LEN		20
#define UDP_LEN		8

#define ETHTYPE_IP	0x0800
#define ETHTYPE_ARP	0x0806
#define ETHTYPE_VLAN	0x8100
#define ETHTYPE_IPV6	0x86dd

#define IPF_DF		0x4000
#define IPF_MF		0x2000

#define TH_FIN		0x01
#define TH_SYN		0x02
#define TH_RST		0x04
#define TH_PSH		0x08
#define TH_ACK		0x10

/* A frame to build. Addresses are in network order, ports in host order. */
struct pkt_spec {
	uint8_t dmac[6], smac[6];
	int vlan;			/* one 802.1Q tag with vlan_tci */
	uint16_t vlan_tci;
	uint8_t ihl;			/* 0: 5 + ip_opts_len / 4 */
	uint8_t tos, ttl, proto;
	uint16_t ip_id;
	uint16_t frag_off;		/* flags and offset, host order */
	uint16_t tot_len;		/* 0: computed */
	uint32_t saddr, daddr;
	const uint8_t *ip_opts;		/* multiple of 4 bytes */
	size_t ip_opts_len;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t window;
	const uint8_t *tcp_opts;	/* multiple of 4 bytes */
	size_t tcp_opts_len;
	int udp_no_csum;		/* UDP checksum field 0: "none" */
	const uint8_t *payload;
	size_t payload_len;
	size_t pad;			/* Ethernet padding after the IP packet (zeros) */
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Four bytes as they are (an address in network order). */
static inline uint32_t raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Sum of big-endian 16-bit words; an odd last byte is the high half of a word. */
static inline uint64_t sum_words(uint64_t acc, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += get16(p + i);
	if (len & 1)
		acc += (uint64_t)p[len - 1] << 8;
	return acc;
}

static inline uint16_t fold16(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Checksum offset within the L4 header: TCP 16, UDP 6. */
static inline size_t l4_csum_off(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 16 : 6;
}

/* The IPv4 header checksum as a sender computes it (the check field as zero). */
static inline uint16_t ip_csum_compute(const uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 0xf) * 4;
	uint64_t s = sum_words(0, ip, 10);

	if (hlen < IP4_LEN)	/* a broken IHL: sum the fixed header */
		hlen = IP4_LEN;

	s = sum_words(s, ip + 12, hlen - 12);
	return (uint16_t)~fold16(s);
}

/* A receiver's check: the header including its checksum sums to 0xffff. */
static inline int ip_csum_valid(const uint8_t *ip)
{
	return fold16(sum_words(0, ip, (size_t)(ip[0] & 0xf) * 4)) == 0xffff;
}

/* Sum of the pseudo-header and the segment, without the checksum field if skip_csum. */
static inline uint64_t l4_sum(const uint8_t *ip, int skip_csum)
{
	size_t hlen = (size_t)(ip[0] & 0xf) * 4;
	size_t len = get16(ip + 2) - hlen;
	const uint8_t *l4 = ip + hlen;
	size_t co = l4_csum_off(ip[9]);
	uint64_t s;

	s = sum_words(0, ip + 12, 8);		/* saddr, daddr */
	s += ip[9];				/* zero, protocol */
	s += len;				/* TCP/UDP length */
	if (!skip_csum)
		return sum_words(s, l4, len);
	s = sum_words(s, l4, co);
	return sum_words(s, l4 + co + 2, len - co - 2);
}

/* The TCP/UDP checksum as a sender computes it; UDP sends a computed 0 as 0xffff. */
static inline uint16_t l4_csum_compute(const uint8_t *ip)
{
	uint16_t c = (uint16_t)~fold16(l4_sum(ip, 1));

	return ip[9] == IPPROTO_UDP && c == 0 ? 0xffff : c;
}

static inline int l4_csum_valid(const uint8_t *ip)
{
	return fold16(l4_sum(ip, 0)) == 0xffff;
}

/* Write the frame into buf (PKT_MAX bytes); returns its length. */
/* The TCP or UDP header at l4 of either family's spec s (struct pkt_spec
 * or struct pkt6_spec: the same field names), its length l4hdr with the
 * TCP options; checksum left 0. */
#define L4_HDR_PUT(l4, s, l4hdr)						\
	do {									\
		uint8_t *h_ = (l4);						\
		if ((s)->proto == IPPROTO_TCP) {				\
			put16(h_, (s)->sport);					\
			put16(h_ + 2, (s)->dport);				\
			put32(h_ + 4, (s)->seq);				\
			put32(h_ + 8, (s)->ack);				\
			h_[12] = (uint8_t)(((l4hdr) / 4) << 4);			\
			h_[13] = (s)->tcp_flags;				\
			put16(h_ + 14, (s)->window ? (s)->window : 64240);	\
			if ((s)->tcp_opts_len)					\
				memcpy(h_ + TCP_LEN, (s)->tcp_opts, (s)->tcp_opts_len); \
		} else if ((s)->proto == IPPROTO_UDP) {				\
			put16(h_, (s)->sport);					\
			put16(h_ + 2, (s)->dport);				\
			put16(h_ + 4, (uint16_t)(UDP_LEN + (s)->payload_len));	\
		}								\
	} while (0)

/* The length of the TCP (with its options) or UDP header of a frame spec,
 * either family's; 0 for another protocol. */
#define L4_HDR_LEN(s)								\
	((s)->proto == IPPROTO_TCP ? TCP_LEN + (s)->tcp_opts_len :		\
	 (s)->proto == IPPROTO_UDP ? UDP_LEN : 0)

/* Clear buf (PKT_MAX bytes) and write an Ethernet header carrying type,
 * with one 802.1Q tag if vlan; returns where the IP header goes. Both
 * families' frame builders. */
static inline size_t eth_put(uint8_t *buf, const uint8_t *dmac, const uint8_t *smac, int vlan,
			     uint16_t vlan_tci, uint16_t type)
{
	size_t off = 12;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	if (vlan) {
		put16(buf + off, ETHTYPE_VLAN);
		put16(buf + off + 2, vlan_tci);
		off += 4;
	}
	put16(buf + off, type);
	return off + 2;
}

static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	uint8_t ihl = s->ihl ? s->ihl : (uint8_t)(5 + s->ip_opts_len / 4);
	size_t l4hdr = L4_HDR_LEN(s), ip, l4, len;
	uint16_t tot;

	ip = eth_put(buf, s->dmac, s->smac, s->vlan, s->vlan_tci, ETHTYPE_IP);
	tot = s->tot_len ? s->tot_len :
	      (uint16_t)(IP4_LEN + s->ip_opts_len + l4hdr + s->payload_len);
	buf[ip] = (uint8_t)(0x40 | (ihl & 0xf));
	buf[ip + 1] = s->tos;
	put16(buf + ip + 2, tot);
	put16(buf + ip + 4, s->ip_id);
	put16(buf + ip + 6, s->frag_off);
	buf[ip + 8] = s->ttl;
	buf[ip + 9] = s->proto;
	memcpy(buf + ip + 12, &s->saddr, 4);
	memcpy(buf + ip + 16, &s->daddr, 4);
	if (s->ip_opts_len)
		memcpy(buf + ip + IP4_LEN, s->ip_opts, s->ip_opts_len);
	l4 = ip + IP4_LEN + s->ip_opts_len;

	L4_HDR_PUT(buf + l4, s, l4hdr);
	if (s->proto == IPPROTO_ICMP) {
		buf[l4] = 8;			/* echo request */
		put16(buf + l4 + 4, s->sport);	/* identifier */
		put16(buf + l4 + 6, s->dport);	/* sequence */
		l4hdr = 8;
		tot = s->tot_len ? s->tot_len :
		      (uint16_t)(IP4_LEN + s->ip_opts_len + l4hdr + s->payload_len);
		put16(buf + ip + 2, tot);
	}
	if (s->payload_len)
		memcpy(buf + l4 + l4hdr, s->payload, s->payload_len);
	len = l4 + l4hdr + s->payload_len + s->pad;

	put16(buf + ip + 10, ip_csum_compute(buf + ip));
	/* Only where the lengths make sense: malformed frames keep a zero. */
	if ((s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) && !s->udp_no_csum &&
	    ihl >= 5 && tot >= ihl * 4u + l4hdr && ip + tot <= PKT_MAX)
		put16(buf + l4 + l4_csum_off(s->proto), l4_csum_compute(buf + ip));
	if (s->proto == IPPROTO_ICMP) {
		uint16_t c = (uint16_t)~fold16(sum_words(0, buf + l4, l4hdr + s->payload_len));

		put16(buf + l4 + 2, c);
	}
	return len;
}

/*
 * An ICMP error (type, code) with the outer header of s (proto ICMP), quoting
 * the first qlen bytes of the IP packet that quoted (a spec) makes. Returns
 * the frame length.
 */
static inline size_t pkt_build_icmp_err(const struct pkt_spec *s, uint8_t type, uint8_t code,
					const struct pkt_spec *quoted, size_t qlen, uint8_t *buf)
{
	uint8_t q[PKT_MAX];
	size_t ql = pkt_build(quoted, q), qoff = quoted->vlan ? ETH_LEN + VLAN_LEN : ETH_LEN;
	struct pkt_spec o = *s;
	size_t len, l4;

	if (qlen > ql - qoff - quoted->pad)
		qlen = ql - qoff - quoted->pad;
	o.proto = IPPROTO_ICMP;
	o.payload = q + qoff;
	o.payload_len = qlen;
	len = pkt_build(&o, buf);
	l4 = (s->vlan ? ETH_LEN + VLAN_LEN : ETH_LEN) + IP4_LEN + s->ip_opts_len;
	buf[l4] = type;
	buf[l4 + 1] = code;
	put16(buf + l4 + 2, 0);
	put32(buf + l4 + 4, 0);
	put16(buf + l4 + 2, (uint16_t)~fold16(sum_words(0, buf + l4, len - l4 - s->pad)));
	return len;
}

/* Where the headers of a built (or rewritten) frame are. */
struct frame {
	size_t l3;		/* IPv4 header; 0 if the frame is not IPv4 */
	size_t l4;		/* TCP/UDP header; 0 if none */
	size_t l4hdr;		/* its length */
	size_t end;		/* end of the IP packet (tot_len) */
	uint8_t proto;
};

static inline void frame_parse(const uint8_t *b, size_t len, struct frame *f)
{
	size_t off = 12;

	memset(f, 0, sizeof(*f));
	if (len < ETH_LEN)
		return;
	if (get16(b + 12) == ETHTYPE_VLAN) {
		if (len < ETH_LEN + VLAN_LEN)
			return;
		off += 4;
	}
	if (get16(b + off) != ETHTYPE_IP || len < off + 2 + IP4_LEN)
		return;
	f->l3 = off + 2;
	f->proto = b[f->l3 + 9];
	f->end = f->l3 + get16(b + f->l3 + 2);
	f->l4 = f->l3 + (size_t)(b[f->l3] & 0xf) * 4;
	if (f->proto == IPPROTO_TCP && len >= f->l4 + TCP_LEN)
		f->l4hdr = (size_t)(b[f->l4 + 12] >> 4) * 4;
	else if (f->proto == IPPROTO_UDP)
		f->l4hdr = UDP_LEN;
	else
		f->l4 = 0;
}

/* The key under which XDP asks tc ingress to finish frame b where there is
 * no XDP metadata (xfwd_finish); -1 if b is not IPv4. */
static inline int frame_finish_key(const uint8_t *b, size_t len, struct xfwd_finish_key *k)
{
	struct frame f;
	size_t l4;

	frame_parse(b, len, &f);
	if (!f.l3)
		return -1;
	memset(k, 0, sizeof(*k));
	memcpy(&k->saddr, b + f.l3 + 12, 4);
	memcpy(&k->daddr, b + f.l3 + 16, 4);
	memcpy(&k->id, b + f.l3 + 4, 2);
	memcpy(&k->frag_off, b + f.l3 + 6, 2);
	k->proto = f.proto;
	l4 = f.l3 + (size_t)(b[f.l3] & 0xf) * 4;
	if (l4 + sizeof(k->l4) <= len)
		memcpy(k->l4, b + l4, sizeof(k->l4));
	return 0;
}

/* The name of byte o of a TCP or UDP header (proto), for failure messages;
 * NULL past its fixed part. Both families' frames. */
static inline const char *l4_field_name(uint8_t proto, size_t o)
{
	static const char *const tcp_names[20] = {
		"tcp sport", "tcp sport", "tcp dport", "tcp dport", "tcp seq", "tcp seq",
		"tcp seq", "tcp seq", "tcp ack", "tcp ack", "tcp ack", "tcp ack",
		"tcp doff", "tcp flags", "tcp window", "tcp window", "tcp checksum",
		"tcp checksum", "tcp urg_ptr", "tcp urg_ptr",
	};
	static const char *const udp_names[8] = {
		"udp sport", "udp sport", "udp dport", "udp dport", "udp len", "udp len",
		"udp checksum", "udp checksum",
	};

	if (proto == IPPROTO_TCP)
		return o < TCP_LEN ? tcp_names[o] : NULL;
	return o < UDP_LEN ? udp_names[o] : NULL;
}

/* The name of the field byte off of frame b lies in, for failure messages. */
static inline const char *frame_field(const uint8_t *b, size_t len, size_t off)
{
	static const char *const ip_names[20] = {
		"ip version/ihl", "ip tos", "ip tot_len", "ip tot_len", "ip id", "ip id",
		"ip frag_off", "ip frag_off", "ip ttl", "ip protocol", "ip checksum",
		"ip checksum", "ip saddr", "ip saddr", "ip saddr", "ip saddr",
		"ip daddr", "ip daddr", "ip daddr", "ip daddr",
	};
	const char *name;
	struct frame f;

	if (off < 6)
		return "eth dst mac";
	if (off < 12)
		return "eth src mac";
	frame_parse(b, len, &f);
	if (!f.l3)
		return off < 14 ? "ethertype" : "non-IPv4 content";
	if (off < f.l3) {
		if (f.l3 == ETH_LEN)
			return "ethertype";
		return off < 14 ? "vlan tpid" : off < 16 ? "vlan tci" : "vlan ethertype";
	}
	if (off < f.l3 + IP4_LEN)
		return ip_names[off - f.l3];
	if (!f.l4 || off < f.l4)
		return off < f.end ? (f.l4 ? "ip options" : "ip payload") : "padding";
	if (off >= f.end)
		return "padding";
	if (off >= f.l4 + f.l4hdr)
		return "payload";
	name = l4_field_name(f.proto, off - f.l4);
	return name ? name : "tcp options";
}

/* Index of the first differing byte of two equally long frames, or -1. */
static inline long frame_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return (long)i;
	return -1;
}

#endif
