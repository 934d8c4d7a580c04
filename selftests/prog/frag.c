// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPv4 fragments: first fragments translated and the later ones after
 * them (UDP, TCP with SNAT, hairpin, masquerade, the fast path), later
 * fragments of unknown datagrams passed, spoofed first fragments.
 */
#include "harness.h"

#define FRAG_DGRAM	2000	/* payload bytes of the fragmented datagrams */

/* The fragment at IP-payload offset off (a multiple of 8), n bytes long, of
 * the unfragmented frame whole (from pkt_build, no tag); MF if more. Its IP
 * header is whole's with the fragment's length, offset and checksum. */
static size_t frag_cut(const uint8_t *whole, size_t off, size_t n, int more, uint8_t *out)
{
	const size_t l3 = ETH_LEN, hl = (size_t)(whole[l3] & 0xf) * 4;

	memset(out, 0, PKT_MAX);
	memcpy(out, whole, l3 + hl);
	memcpy(out + l3 + hl, whole + l3 + hl + off, n);
	put16(out + l3 + 2, (uint16_t)(hl + n));
	put16(out + l3 + 6, (uint16_t)((get16(whole + l3 + 6) & IPF_DF) | (more ? IPF_MF : 0) |
				       off / 8));
	put16(out + l3 + 10, 0);
	put16(out + l3 + 10, ip_csum_compute(out + l3));
	return l3 + hl + n;
}

/* How a datagram is cut: into n fragments, sizes[] those of all but the
 * last (multiples of 8), which takes the rest. */
struct cut {
	unsigned n;
	size_t sizes[2];
};

static const struct cut frag2 = { 2, { 1480 } }, frag3 = { 3, { 1000, 504 } };

/* Fragment k of the frame whole cut as c; *off is its offset. */
static size_t frag_k(const uint8_t *whole, size_t wlen, const struct cut *c, unsigned k,
		     uint8_t *out, size_t *off)
{
	size_t total = wlen - ETH_LEN - IP4_LEN, n;
	unsigned i;

	for (*off = 0, i = 0; i < k; i++)
		*off += c->sizes[i];
	n = k + 1 < c->n ? c->sizes[k] : total - *off;
	return frag_cut(whole, *off, n, k + 1 < c->n, out);
}

/*
 * The datagram in, sent on side in fragments cut as c, must come out
 * translated to saddr:sport > daddr:dport (xlated_to) and cut the same
 * way: each fragment redirected, every byte as expected, its
 * IP checksum right by full recomputation, counted in frag_translated; and
 * the fragments that came out, reassembled, must carry a TCP/UDP checksum
 * that is right over the whole datagram.
 */
static int frag_expect_xlated(int side, const struct pkt_spec *in, uint32_t saddr, uint16_t sport,
			      uint32_t daddr, uint16_t dport, const struct cut *c)
{
	static uint8_t wi[PKT_MAX], we[PKT_MAX], fi[PKT_MAX], fe[PKT_MAX], ra[PKT_MAX];
	struct pkt_spec exp = xlated_to(in, saddr, sport, daddr, dport);
	size_t li = pkt_build(in, wi), le = pkt_build(&exp, we), lfi, lfe, off = 0, n = 0;
	const size_t hl = IP4_LEN;
	char base[200];
	struct counters a, b;

	snprintf(base, sizeof(base), "%s", pkt_label);
	for (unsigned k = 0; k < c->n; k++) {
		lfi = frag_k(wi, li, c, k, fi, &off);
		lfe = frag_k(we, le, c, k, fe, &off);
		n = lfe - ETH_LEN - hl;
		label("%s: fragment %u of %u (offset %zu, %zu bytes)", base, k + 1, c->n, off, n);
		TRY(run_expect(side, fi, lfi, XDP_REDIRECT, &a, &b));
		if (!ASSERT_EQ(R.len, lfe, "frame length"))
			return -1;
		if (!ASSERT_ADDR(raw32(R.frame + ETH_LEN + 12), raw32(fe + ETH_LEN + 12), "ip saddr"))
			return -1;
		if (!ASSERT_ADDR(raw32(R.frame + ETH_LEN + 16), raw32(fe + ETH_LEN + 16), "ip daddr"))
			return -1;
		if (!ASSERT_TRUE(ip_csum_valid(R.frame + ETH_LEN),
				 "ip checksum 0x%04x is wrong (recomputed: 0x%04x)",
				 get16(R.frame + ETH_LEN + 10), ip_csum_compute(R.frame + ETH_LEN)))
			return -1;
		TRY(expect_frame(fe, lfe));
		TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 1));
		TRY(expect_moved(&a, &b, XFWD_CNT_FRAG_XLATED, 1));
		if (!k)
			memcpy(ra, R.frame + ETH_LEN, hl);
		memcpy(ra + hl + off, R.frame + ETH_LEN + hl, n);
	}
	put16(ra + 2, (uint16_t)(hl + off + n));
	put16(ra + 6, 0);
	label("%s: reassembled (%zu bytes)", base, hl + off + n);
	if (!ASSERT_TRUE(l4_csum_valid(ra), "%s checksum 0x%04x is wrong over the datagram "
			 "(recomputed: 0x%04x)", ra[9] == IPPROTO_TCP ? "tcp" : "udp",
			 get16(ra + hl + l4_csum_off(ra[9])), l4_csum_compute(ra)))
		return -1;
	return 0;
}

/* s made a datagram of FRAG_DGRAM bytes of pattern, to be cut (no DF). */
static struct pkt_spec dgram(struct pkt_spec s)
{
	s.frag_off = 0;
	payload_set(&s, FRAG_DGRAM);
	return s;
}

/* A UDP datagram too big for one packet, to a forwarded port and back. */
PROG_CASE(frag_udp_forwarded)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40000, 53, 40000, 5353 };
	struct pkt_spec in = dgram(pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53));
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40000);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("UDP 192.0.2.2:40000 > 192.0.2.1:53, 2008 bytes");
	TRY(frag_expect_xlated(SIDE_PUB, &in, CLIENT1, 40000, BACKEND1, 5353, &frag2));
	rep.frag_off = 0;
	rep.payload = pattern + 1;
	rep.payload_len = FRAG_DGRAM - 7;	/* an odd length: the last byte is half a word */
	label("its reply, 2001 bytes");
	TRY(frag_expect_xlated(SIDE_LAN, &rep, PUB_ADDR, 53, CLIENT1, 40000, &frag3));
	label("the connection");
	return conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY);
}

/* A TCP segment in fragments through a --snat rule: the first fragment is
 * tracked, the later one only translated, and the backend's ACK of the
 * whole segment is in window (the later fragment moved what the client
 * sent). */
PROG_CASE(frag_tcp_snat)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 40010, 80, 40010, 8080 };
	struct pkt_spec in = dgram(pub_pkt(IPPROTO_TCP, CLIENT1, 40010, PUB_ADDR, 80));
	struct pkt_spec rep = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, LAN_ADDR, 40010);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, XFWD_RULE_SNAT, 1));
	label("handshake");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	in.tcp_flags = TH_PSH | TH_ACK;
	in.seq = 0x10203041;
	in.ack = 0x50607081;
	label("a 2000-byte segment");
	TRY(frag_expect_xlated(SIDE_PUB, &in, LAN_ADDR, 40010, BACKEND1, 8080, &frag2));
	rep.tcp_flags = TH_ACK;
	rep.seq = 0x50607081;
	rep.ack = 0x10203041 + FRAG_DGRAM;
	label("the backend's ACK of all of it");
	return expect_xlated(SIDE_LAN, &rep, PUB_ADDR, 80, CLIENT1, 40010);
}

/* A LAN host to a forwarded port of the gateway (hairpin: SNAT to the
 * gateway's LAN address), in fragments both ways. */
PROG_CASE(frag_hairpin)
{
	struct pkt_spec in = dgram(lan_pkt(IPPROTO_UDP, BACKEND2, 40020, PUB_ADDR, 53));
	struct pkt_spec rep = dgram(lan_pkt(IPPROTO_UDP, BACKEND1, 5353, LAN_ADDR, 40020));

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("UDP 198.51.100.3:40020 > 192.0.2.1:53");
	TRY(frag_expect_xlated(SIDE_LAN, &in, LAN_ADDR, 40020, BACKEND1, 5353, &frag2));
	label("its reply");
	return frag_expect_xlated(SIDE_LAN, &rep, PUB_ADDR, 53, BACKEND2, 40020, &frag3);
}

/* A masqueraded host's datagram in fragments leaves with the public
 * address, each fragment; the reply's fragments reach it. */
PROG_CASE(frag_masq)
{
	struct pkt_spec in = dgram(lan_pkt(IPPROTO_UDP, BACKEND1, 40050, CLIENT1, 53));
	struct pkt_spec rep = dgram(pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 40050));

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	label("masqueraded UDP 198.51.100.2:40050 > 192.0.2.2:53");
	TRY(frag_expect_xlated(SIDE_LAN, &in, PUB_ADDR, 40050, CLIENT1, 53, &frag3));
	label("its reply");
	return frag_expect_xlated(SIDE_PUB, &rep, CLIENT1, 53, BACKEND1, 40050, &frag2);
}

/* Send fragment k of the datagram s; the frame goes to out. */
static size_t frag_of(const struct pkt_spec *s, const struct cut *c, unsigned k, uint8_t *out)
{
	static uint8_t w[PKT_MAX];
	size_t off, len = pkt_build(s, w);

	return frag_k(w, len, c, k, out, &off);
}

/* A later fragment whose first was not seen, or not lately, or of another
 * datagram: to the kernel untouched, counted. */
PROG_CASE(frag_later_unknown)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40030, 53, 40030, 5353 };
	struct pkt_spec in = dgram(pub_pkt(IPPROTO_UDP, CLIENT1, 40030, PUB_ADDR, 53)), o;
	struct pkt_spec lan = dgram(lan_pkt(IPPROTO_UDP, BACKEND1, 5555, CLIENT1, 53));
	uint8_t b[PKT_MAX];
	size_t len;
	int nf, np;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	label("the last fragment before the first (out of order), from the internet");
	len = frag_of(&in, &frag2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	flows_count(&nf, &np);
	if (!ASSERT_EQ(nf + np, 0, "flow entries"))
		return -1;
	label("the same from a masqueraded LAN host");
	len = frag_of(&lan, &frag2, 1, b);
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));

	label("the connection, answered twice (assured: it outlives a datagram)");
	TRY(conn_fwd(&c, 0, pattern, 10));
	TRY(conn_rep(&c, 0, pattern, 10));
	TRY(conn_fwd(&c, 0, pattern, 10));
	label("a first fragment");
	len = frag_of(&in, &frag2, 0, b);
	TRY(run(SIDE_PUB, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	label("a later fragment of another datagram (IP id) of the same flow");
	o = in;
	o.ip_id++;
	len = frag_of(&o, &frag2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment with another source");
	o = in;
	o.saddr = CLIENT2;
	len = frag_of(&o, &frag2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment on the other side");
	len = frag_of(&in, &frag2, 1, b);
	memcpy(b, MAC_LAN, 6);
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment 31 s after the first (ipfrag_time 30 s)");
	skel->bss->xfwd_clock_offset_ns = 31 * NSEC;
	len = frag_of(&in, &frag2, 1, b);
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("the flow is alive all the same");
	return conn_fwd(&c, 0, pattern, 10);
}

/*
 * A backend's reset in fragments ends a one-entry connection (its reply
 * entry left dead); the tuple's next connection changes state before any
 * answer (the client resets it). That change is the new connection's alone:
 * written into the dead entry at its reply key, it brought that entry back
 * with the old connection's identity and counts. The old datagram's later
 * fragment then finds the new connection by its tuple, as any packet with a
 * one-entry connection's reply tuple does (its reply entry made then), as
 * the receiver reassembling it would.
 */
PROG_CASE(frag_dead_reply_entry_stays_dead)
{
	struct conn c = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 41200, 443, 41200, 8443 };
	struct pkt_spec rst = dgram(conn_rep_pkt(&c, TH_RST | TH_ACK, NULL, 0));
	struct xfwd_flow_key rk = conn_rkey(&c);
	struct xfwd_flow r;
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 443, BACKEND2, 8443, 0, 1));
	TRY(backend_add(IPPROTO_TCP, BACKEND2, 8443, 0, 443, 0));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("the backend's RST, the only answer, its first fragment");
	len = frag_of(&rst, &frag2, 0, b);
	TRY(run(SIDE_LAN, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	label("its later fragment: the connection is gone");
	len = frag_of(&rst, &frag2, 1, b);
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("a new SYN of the same tuple, then the client's RST");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_fwd(&c, TH_RST, NULL, 0));
	if (!ASSERT_TRUE(flow_get(&rk, &r) == IN_PENDING && (r.flags & XFWD_FLOW_DEAD),
			 "the earlier connection's reply entry is dead still"))
		return -1;
	label("the old datagram's later fragment again: the new connection's, by its tuple");
	len = frag_of(&rst, &frag2, 1, b);
	TRY(run(SIDE_LAN, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	{
		struct xfwd_flow o;

		if (!ASSERT_TRUE(flow_get(&rk, &r) == IN_PENDING && !(r.flags & XFWD_FLOW_DEAD) &&
				 flow_get(&r.twin, &o) == IN_PENDING && o.conn_id == r.conn_id &&
				 r.packets == 1, "the reply entry made for the new connection, fresh"))
			return -1;
	}
	return 0;
}

/* A first fragment is a new connection's first packet like any: the source
 * checks refuse a spoofed one, and its later fragments find nothing. */
PROG_CASE(frag_first_spoofed_source)
{
	const struct { uint32_t src; unsigned cnt; const char *what; } bad[] = {
		{ BACKEND1, XFWD_CNT_DROP_SRC_LAN, "a LAN host" },
		{ LAN_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the gateway's LAN address" },
		{ PUB_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the gateway's public address" },
	};
	uint8_t b[PKT_MAX];
	struct counters x, y;
	size_t len;
	int nf, np;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pkt_spec in = dgram(pub_pkt(IPPROTO_UDP, bad[i].src, 40040, PUB_ADDR, 53));

		label("first fragment from the internet claiming %s (%s)", bad[i].what,
		      astr(bad[i].src));
		len = frag_of(&in, &frag2, 0, b);
		TRY(run_expect(SIDE_PUB, b, len, XDP_DROP, &x, &y));
		TRY(expect_moved(&x, &y, bad[i].cnt, 1));
		TRY(expect_moved(&x, &y, XFWD_CNT_FRAG_XLATED, 0));
		label("its later fragment");
		len = frag_of(&in, &frag2, 1, b);
		TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_FRAG_UNKNOWN));
	}
	flows_count(&nf, &np);
	if (!ASSERT_EQ(nf + np, 0, "flow entries"))
		return -1;
	return 0;
}

/* A busy flow's fast-path slot must not serve a first fragment: the slow
 * path remembers its datagram, or the later fragments would find none. */
PROG_CASE(frag_fast_path)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7301, 53, 7301, 5353 };
	struct pkt_spec in = dgram(pub_pkt(IPPROTO_UDP, CLIENT1, 7301, PUB_ADDR, 53));
	static const struct cut halves = { 2, { 1000 } };
	struct counters a, b;

	TRY(fast_on());
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("an assured flow, its slot filled for packets up to 1428 bytes");
	TRY(conn_assure(&c, 40));
	TRY(fwd_via(&c, 0, 1400, 0));
	TRY(fwd_via(&c, 0, 40, 1));
	label("a datagram in fragments of 1020 and 1008 bytes");
	TRY(counters_read(&a));
	TRY(frag_expect_xlated(SIDE_PUB, &in, CLIENT1, 7301, BACKEND1, 5353, &halves));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FAST, 0));
	label("the flow's next packet");
	return fwd_via(&c, 0, 40, 1);
}
