// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMPv6 errors about forwarded IPv6 connections (#20): each error type
 * translated both ways with its quote (RFC 5508's behaviour), truncated
 * quotes, forged errors dropped, errors about no connection passed; and
 * Packet Too Big made by XDP for a packet too big for the egress. Every
 * expected frame is built from scratch (pkt6.h): the ICMPv6 checksum over
 * the pseudo-header and the whole message, the quoted TCP/UDP checksum over
 * the whole quoted packet, both recomputed, never updated.
 */
#include "harness.h"
#include "pkt6.h"

#define A6(last) { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, last }
#define L6(last) { 0x20, 0x01, 0x0d, 0xb8, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, last }

static const uint8_t PUB6[16] = A6(0x01);	/* the gateway's public address */
static const uint8_t PUB6_2[16] = A6(0x10);	/* another address of the gateway */
static const uint8_t CLIENT6[16] = A6(0x02);
static const uint8_t ROUTER6[16] = A6(0xfe);	/* a router on the internet side */
static const uint8_t LAN6[16] = L6(0x01);	/* the gateway's LAN address */
static const uint8_t B6_1[16] = L6(0x02);
static const uint8_t B6_2[16] = L6(0x03);	/* a LAN host, or the router to BEHIND6 */
static const uint8_t BEHIND6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x04, 0x00, [15] = 0x05 };

#define ICMP6_HDR	8
#define QUOTE_MAX	(1280 - IP6_LEN - ICMP6_HDR)

static int rule6(uint8_t proto, uint16_t port, const uint8_t *to, uint16_t to_port, uint32_t id)
{
	struct xfwd_rule6_key k;
	struct xfwd_rule6 r;

	memset(&k, 0, sizeof(k));
	memset(&r, 0, sizeof(r));
	k.port = htons(port);
	k.proto = proto;
	memcpy(r.to_addr, to, 16);
	r.to_port = htons(to_port);
	r.id = id;
	r.pub_lo = r.pub_hi = port;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rules6), &k, &r, BPF_NOEXIST))
		return fail("cannot add IPv6 rule %u: %s", id, strerror(errno));
	return 0;
}

/* A packet arriving on side (SIDE_PUB: from the upstream router; SIDE_LAN:
 * from the host with saddr, or from B6_2's MAC for what is behind it). */
static struct pkt6_spec pkt6(int side, uint8_t proto, const uint8_t *saddr, uint16_t sport,
			     const uint8_t *daddr, uint16_t dport)
{
	struct pkt6_spec s;

	memset(&s, 0, sizeof(s));
	memcpy(s.dmac, side == SIDE_PUB ? MAC_PUB : MAC_LAN, 6);
	memcpy(s.smac, side == SIDE_PUB ? MAC_UPSTREAM : !memcmp(saddr, B6_1, 16) ? MAC_B1 : MAC_B2, 6);
	s.proto = proto;
	s.hop_limit = 64;
	memcpy(s.saddr, saddr, 16);
	memcpy(s.daddr, daddr, 16);
	s.sport = sport;
	s.dport = dport;
	s.seq = 0x10203040;
	s.ack = proto == IPPROTO_TCP ? 0x50607080 : 0;
	s.tcp_flags = proto == IPPROTO_TCP ? TH_SYN : 0;
	return s;
}

/* An ICMPv6 error (type, code, the 4 bytes after the checksum) from outer's
 * addresses, quoting the first qlen bytes of the IPv6 packet q. Shared
 * (ipv6.h). */
size_t err6_build(struct pkt6_spec outer, uint8_t type, uint8_t code, uint32_t rest,
			 const struct pkt6_spec *q, size_t qlen, uint8_t *buf)
{
	static uint8_t msg[PKT_MAX];
	uint8_t qb[PKT_MAX];
	size_t ql = pkt6_build(q, qb), l3 = q->vlan ? 18 : 14;

	if (qlen > ql - l3)
		qlen = ql - l3;
	memset(msg, 0, ICMP6_HDR);
	msg[0] = type;
	msg[1] = code;
	put32(msg + 4, rest);
	memcpy(msg + ICMP6_HDR, qb + l3, qlen);
	outer.proto = IPPROTO_ICMP6;
	outer.payload = msg;
	outer.payload_len = ICMP6_HDR + qlen;
	return pkt6_build(&outer, buf);
}

/* The last run's frame is exactly exp (el bytes), its ICMPv6 checksum
 * right by recomputation; with whole, the quoted TCP/UDP checksum too. */
int check_err6(const uint8_t *exp, size_t el, int whole)
{
	const uint8_t *ip = R.frame + 14, *q = ip + IP6_LEN + ICMP6_HDR;
	long d;

	if (!ASSERT_EQ(R.len, el, "frame length"))
		return -1;
	if (!ASSERT_EQ(ip[6], IPPROTO_ICMP6, "next header (ICMPv6)"))
		return -1;
	if (!ASSERT_TRUE(l6_csum_valid(ip), "icmpv6 checksum 0x%04x is wrong (recomputed: 0x%04x)",
			 get16(ip + IP6_LEN + 2), l6_csum_compute(ip)))
		return -1;
	if (whole && !ASSERT_TRUE(l6_csum_valid(q), "quoted %s checksum is wrong (recomputed: 0x%04x)",
				  q[6] == IPPROTO_TCP ? "tcp" : "udp", l6_csum_compute(q)))
		return -1;
	d = frame_diff(exp, R.frame, el);
	if (d >= 14 + IP6_LEN + ICMP6_HDR)
		return fail("%s: byte %ld (quote byte %ld): expected 0x%02x, got 0x%02x", pkt_label,
			    d, d - (14 + IP6_LEN + ICMP6_HDR), exp[d], R.frame[d]);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    d >= 14 + IP6_LEN ? "icmpv6 header" : frame6_field(exp, el, (size_t)d),
			    exp[d], R.frame[d]);
	return 0;
}

/*
 * The error in (ib, il), run on side, leaves translated as exp (el bytes):
 * redirected, counted as a translated error of IPv6's. Shared (ipv6.h).
 */
int expect_err6_xlated(int side, const uint8_t *ib, size_t il, const uint8_t *eb, size_t el,
			      int whole)
{
	struct counters a, b;

	TRY(run_expect(side, ib, il, XDP_REDIRECT, &a, &b));
	TRY(check_err6(eb, el, whole));
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT6, 1));
	return expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0);
}

/* Passed up byte for byte, counted as cnt. */
static int expect_err6_passed(int side, const uint8_t *ib, size_t il, unsigned cnt)
{
	struct counters a, b;
	long d;

	TRY(run_expect(side, ib, il, XDP_PASS, &a, &b));
	if (!ASSERT_EQ(R.len, il, "frame length"))
		return -1;
	d = frame_diff(ib, R.frame, il);
	if (d >= 0)
		return fail("%s: byte %ld changed: was 0x%02x, now 0x%02x", pkt_label, d, ib[d],
			    R.frame[d]);
	TRY(expect_moved(&a, &b, cnt, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 0));
	return expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0);
}

static int expect_err6_dropped(int side, const uint8_t *ib, size_t il)
{
	struct counters a, b;

	TRY(run_expect(side, ib, il, XDP_DROP, &a, &b));
	TRY(expect_moved(&a, &b, XFWD_CNT_DROP_ICMP_FORGED, 1));
	return expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 0);
}

/* The packet in, run on side, is forwarded (any translation). */
static int forwarded(int side, const struct pkt6_spec *in)
{
	uint8_t ib[PKT_MAX];
	size_t il = pkt6_build(in, ib);
	struct counters a, b;

	return run_expect(side, ib, il, XDP_REDIRECT, &a, &b);
}

/* What the error sent to the gateway becomes: out of the other side, one
 * hop less, to the neighbour dmac. */
static struct pkt6_spec out6(struct pkt6_spec e, const uint8_t *saddr, const uint8_t *daddr,
			     const uint8_t *dmac, const uint8_t *smac)
{
	memcpy(e.saddr, saddr, 16);
	memcpy(e.daddr, daddr, 16);
	memcpy(e.dmac, dmac, 6);
	memcpy(e.smac, smac, 6);
	e.hop_limit--;
	return e;
}

/* p, sent on side, as its receiver got it: one hop less, its destination
 * (from the internet) or its source (from the LAN) rewritten to addr:port.
 * Shared (ipv6.h). */
struct pkt6_spec received6(int side, const struct pkt6_spec *p, const uint8_t *addr,
				  uint16_t port)
{
	struct pkt6_spec r = *p;

	memcpy(side == SIDE_PUB ? r.daddr : r.saddr, addr, 16);
	*(side == SIDE_PUB ? &r.dport : &r.sport) = port;
	r.hop_limit--;
	return r;
}

/*
 * The receiver of p (sent on side, forwarded, got as seen) answers with the
 * error err (its outer header: from seen's destination to its source), of
 * type, code and rest, quoting qlen bytes of seen: it comes out of side
 * translated, from p's destination to p's source (the client's neighbour
 * entry, or the LAN host's MAC), quoting p as sent with seen's hop limit;
 * with whole, the quoted checksum checked too. Shared (ipv6.h).
 */
int err6_about(int side, const struct pkt6_spec *p, const struct pkt6_spec *seen,
	       struct pkt6_spec err, uint8_t type, uint8_t code, uint32_t rest, size_t qlen,
	       int whole)
{
	int back = side == SIDE_PUB ? SIDE_LAN : SIDE_PUB;
	struct pkt6_spec sent = *p;
	struct pkt6_spec exp = out6(err, p->daddr, p->saddr, side == SIDE_PUB ? MAC_C1 : p->smac,
				    p->dmac);
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;

	sent.hop_limit = seen->hop_limit;
	il = err6_build(err, type, code, rest, seen, qlen, ib);
	el = err6_build(exp, type, code, rest, &sent, qlen, eb);
	return expect_err6_xlated(back, ib, il, eb, el, whole);
}

/* ------------------------------------------------------------ cases */

/*
 * From the LAN back to the client: the backend's port unreachable about a
 * datagram (the whole datagram quoted), and its parameter problem about
 * the SYN (only 48 bytes quoted: no TCP checksum to update); the outer
 * source becomes the public address (RFC 5508), the quote what the client
 * sent.
 */
PROG_CASE(ipv6_icmp_err_from_lan)
{
	struct pkt6_spec u = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7000, PUB6, 53);
	struct pkt6_spec t = pkt6(SIDE_PUB, IPPROTO_TCP, CLIENT6, 47001, PUB6, 80);
	struct pkt6_spec seen, err = pkt6(SIDE_LAN, 0, B6_1, 0, CLIENT6, 0);	/* the backend's */

	TRY(rule6(IPPROTO_UDP, 53, B6_1, 5353, 1));
	TRY(rule6(IPPROTO_TCP, 80, B6_1, 8080, 2));
	u.payload = pattern;
	u.payload_len = 100;
	label("UDP [2001:db8:100::2]:7000 > [2001:db8:100::1]:53");
	TRY(forwarded(SIDE_PUB, &u));
	seen = received6(SIDE_PUB, &u, B6_1, 5353);
	label("the backend's port unreachable quoting the whole datagram");
	TRY(err6_about(SIDE_PUB, &u, &seen, err, 1, 4, 0, PKT_MAX, 1));

	label("SYN [2001:db8:100::2]:47001 > [2001:db8:100::1]:80");
	TRY(forwarded(SIDE_PUB, &t));
	seen = received6(SIDE_PUB, &t, B6_1, 8080);
	label("the backend's parameter problem quoting 48 bytes of the SYN (no TCP checksum)");
	TRY(err6_about(SIDE_PUB, &t, &seen, err, 4, 0, 40, IP6_LEN + 8, 0));
	label("the backend's port unreachable quoting the IPv6 header and the ports alone");
	return err6_about(SIDE_PUB, &t, &seen, err, 1, 4, 0, IP6_LEN + 4, 0);
}

/*
 * From the internet to the backend: a router's time exceeded and packet
 * too big about the backend's replies as they left the gateway, addressed
 * to the public address. The router stays the source; the destination and
 * the quote become the backend's. The packet too big quotes 1232 bytes of
 * a 1500-byte segment: its TCP checksum (in the quote) is updated all the
 * same, to what the backend's whole segment has.
 */
PROG_CASE(ipv6_icmp_err_from_public)
{
	struct pkt6_spec c = pkt6(SIDE_PUB, IPPROTO_TCP, CLIENT6, 47002, PUB6, 80);
	struct pkt6_spec s = pkt6(SIDE_LAN, IPPROTO_TCP, B6_1, 8080, CLIENT6, 47002);
	struct pkt6_spec sent, err, exp;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;

	TRY(rule6(IPPROTO_TCP, 80, B6_1, 8080, 2));
	label("SYN [2001:db8:100::2]:47002 > [2001:db8:100::1]:80");
	TRY(forwarded(SIDE_PUB, &c));
	s.tcp_flags = TH_SYN | TH_ACK;
	s.ack = c.seq + 1;
	label("SYN-ACK from the backend");
	TRY(forwarded(SIDE_LAN, &s));
	sent = s;	/* as it left the gateway */
	memcpy(sent.saddr, PUB6, 16);
	sent.sport = 80;
	sent.hop_limit = 40;	/* and as it reached the router */
	err = pkt6(SIDE_PUB, 0, ROUTER6, 0, PUB6, 0);
	exp = out6(err, ROUTER6, B6_1, MAC_B1, MAC_LAN);
	s.hop_limit = 40;
	il = err6_build(err, 3, 0, 0, &sent, PKT_MAX, ib);
	el = err6_build(exp, 3, 0, 0, &s, PKT_MAX, eb);
	label("a router's time exceeded about the SYN-ACK");
	TRY(expect_err6_xlated(SIDE_PUB, ib, il, eb, el, 1));

	sent.tcp_flags = s.tcp_flags = TH_ACK | TH_PSH;
	sent.seq = s.seq = s.seq + 1;
	sent.payload = s.payload = pattern;
	sent.payload_len = s.payload_len = 1500 - IP6_LEN - TCP_LEN;
	il = err6_build(err, 2, 0, 1400, &sent, QUOTE_MAX, ib);
	el = err6_build(exp, 2, 0, 1400, &s, QUOTE_MAX, eb);
	if (!ASSERT_EQ(il, 14 + 1280, "the error's frame length (1280 bytes of IPv6)"))
		return -1;
	label("a router's packet too big (MTU 1400) quoting 1232 bytes of a 1500-byte segment");
	TRY(expect_err6_xlated(SIDE_PUB, ib, il, eb, el, 0));

	/* The client itself (the quoted receiver) speaks for itself: its
	 * address stays (no SNAT). */
	err = pkt6(SIDE_PUB, 0, CLIENT6, 0, PUB6, 0);
	exp = out6(err, CLIENT6, B6_1, MAC_B1, MAC_LAN);
	il = err6_build(err, 1, 4, 0, &sent, 200, ib);
	el = err6_build(exp, 1, 4, 0, &s, 200, eb);
	label("the client's port unreachable about the backend's segment");
	return expect_err6_xlated(SIDE_PUB, ib, il, eb, el, 0);
}

/*
 * A UDP quote whose checksum, correctly updated, comes out 0 must read
 * 0xffff: searched for by payload, as ipv6.c's checksum-zero case.
 */
PROG_CASE(ipv6_icmp_err_quoted_udp_checksum)
{
	struct pkt6_spec u = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7010, PUB6, 53);
	struct pkt6_spec seen, err = pkt6(SIDE_LAN, 0, B6_1, 0, CLIENT6, 0);
	uint8_t ib[PKT_MAX], pl[2];
	unsigned v;

	TRY(rule6(IPPROTO_UDP, 53, B6_1, 5353, 1));
	u.payload = pl;
	u.payload_len = 2;
	for (v = 0; v < 0x10000; v++) {	/* the payload whose datagram sums to 0xffff */
		put16(pl, (uint16_t)v);
		pkt6_build(&u, ib);
		if (get16(ib + 14 + IP6_LEN + 6) == 0xffff)
			break;
	}
	if (v == 0x10000)
		return fail("no payload gives a checksum of 0xffff");
	label("UDP [2001:db8:100::2]:7010 > [2001:db8:100::1]:53, checksum 0xffff");
	TRY(forwarded(SIDE_PUB, &u));
	seen = received6(SIDE_PUB, &u, B6_1, 5353);
	label("port unreachable quoting it");
	TRY(err6_about(SIDE_PUB, &u, &seen, err, 1, 4, 0, PKT_MAX, 1));
	return ASSERT_EQ(get16(R.frame + 14 + IP6_LEN + ICMP6_HDR + IP6_LEN + 6), 0xffff,
			 "quoted udp checksum") ? 0 : -1;
}

/*
 * Forged errors (drop_icmp_forged): from the LAN, one by a host that is
 * neither the quoted packet's receiver nor the router towards it; one not
 * addressed to the quoted packet's sender, from either side. And one a LAN
 * router sends about a flow of a host behind it: translated.
 */
PROG_CASE(ipv6_icmp_err_forged_dropped)
{
	struct pkt6_spec u = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7020, PUB6, 53);
	struct pkt6_spec v = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7021, PUB6, 54);
	struct pkt6_spec s = pkt6(SIDE_LAN, IPPROTO_UDP, B6_1, 5353, CLIENT6, 7020);
	struct pkt6_spec seen, vseen, sent, err, exp;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;
	int rc = -1;

	TRY(rule6(IPPROTO_UDP, 53, B6_1, 5353, 1));
	TRY(rule6(IPPROTO_UDP, 54, BEHIND6, 5454, 2));
	if (sh("ip -6 route add 2001:db8:400::/64 via 2001:db8:200::3 dev " IF_LAN))
		return fail("cannot add the route behind the LAN router");
	label("UDP to :53 (backend 2001:db8:200::2)");
	if (forwarded(SIDE_PUB, &u))
		goto out;
	label("UDP to :54 (backend 2001:db8:400::5, behind router 2001:db8:200::3)");
	if (forwarded(SIDE_PUB, &v))
		goto out;
	label("the backend's answer");
	if (forwarded(SIDE_LAN, &s))
		goto out;
	seen = u;
	memcpy(seen.daddr, B6_1, 16);
	seen.dport = 5353;
	seen.hop_limit--;
	vseen = v;
	memcpy(vseen.daddr, BEHIND6, 16);
	vseen.dport = 5454;
	vseen.hop_limit--;

	err = pkt6(SIDE_LAN, 0, B6_2, 0, CLIENT6, 0);
	il = err6_build(err, 1, 3, 0, &seen, PKT_MAX, ib);
	label("2001:db8:200::3's address unreachable about 2001:db8:200::2's flow (off its path)");
	if (expect_err6_dropped(SIDE_LAN, ib, il))
		goto out;
	err = pkt6(SIDE_LAN, 0, B6_1, 0, PUB6_2, 0);
	il = err6_build(err, 1, 4, 0, &seen, PKT_MAX, ib);
	label("the backend's port unreachable sent to 2001:db8:100::10 (not the quoted sender)");
	if (expect_err6_dropped(SIDE_LAN, ib, il))
		goto out;
	err = pkt6(SIDE_LAN, 0, B6_1, 0, CLIENT6, 0);
	il = err6_build(err, 1, 3, 0, &vseen, PKT_MAX, ib);
	label("2001:db8:200::2's address unreachable about 2001:db8:400::5's flow (off its path)");
	if (expect_err6_dropped(SIDE_LAN, ib, il))
		goto out;
	sent = s;
	memcpy(sent.saddr, PUB6, 16);
	sent.sport = 53;
	sent.hop_limit = 30;
	err = pkt6(SIDE_PUB, 0, ROUTER6, 0, CLIENT6, 0);
	il = err6_build(err, 3, 0, 0, &sent, PKT_MAX, ib);
	label("a router's time exceeded about the backend's answer, sent to the client");
	if (expect_err6_dropped(SIDE_PUB, ib, il))
		goto out;

	err = pkt6(SIDE_LAN, 0, B6_2, 0, CLIENT6, 0);
	exp = out6(err, PUB6, CLIENT6, MAC_C1, MAC_PUB);
	v.hop_limit--;
	il = err6_build(err, 1, 3, 0, &vseen, PKT_MAX, ib);
	el = err6_build(exp, 1, 3, 0, &v, PKT_MAX, eb);
	label("router 2001:db8:200::3's address unreachable about 2001:db8:400::5's flow");
	if (expect_err6_xlated(SIDE_LAN, ib, il, eb, el, 1))
		goto out;
	rc = 0;
out:
	if (sh("ip -6 route del 2001:db8:400::/64 via 2001:db8:200::3 dev " IF_LAN))
		rc = fail("cannot delete the route behind the LAN router");
	return rc;
}

/*
 * Errors that are not about a connection of xfwd's go up untouched: about
 * a datagram of no connection, quotes too short for the ports, a quote of
 * ICMPv6 or with an extension header, the right quote on the wrong side;
 * and what is no error (an echo request of no masqueraded host, another
 * informational type).
 */
PROG_CASE(ipv6_icmp_err_unknown_passed)
{
	struct pkt6_spec u = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7030, PUB6, 53);
	struct pkt6_spec seen, err;
	uint8_t ib[PKT_MAX];
	size_t il, q;

	TRY(rule6(IPPROTO_UDP, 53, B6_1, 5353, 1));
	seen = u;
	memcpy(seen.daddr, B6_1, 16);
	seen.dport = 5353;
	err = pkt6(SIDE_LAN, 0, B6_1, 0, CLIENT6, 0);
	il = err6_build(err, 1, 4, 0, &seen, PKT_MAX, ib);
	label("port unreachable quoting a datagram of no connection");
	TRY(expect_err6_passed(SIDE_LAN, ib, il, XFWD_CNT_PASS_NO_MATCH));

	label("UDP [2001:db8:100::2]:7030 > [2001:db8:100::1]:53");
	TRY(forwarded(SIDE_PUB, &u));
	for (q = 0; q < IP6_LEN + 4; q += 4) {
		il = err6_build(err, 1, 4, 0, &seen, q, ib);
		label("port unreachable about a live connection, quote of %zu bytes", q);
		TRY(expect_err6_passed(SIDE_LAN, ib, il, XFWD_CNT_PASS_MALFORMED));
	}
	il = err6_build(err, 1, 4, 0, &seen, PKT_MAX, ib);
	ib[14 + IP6_LEN + ICMP6_HDR + 6] = NH_DEST;
	put16(ib + 14 + IP6_LEN + 2, 0);
	put16(ib + 14 + IP6_LEN + 2, l6_csum_compute(ib + 14));
	label("port unreachable whose quote names Destination Options that carry no TCP/UDP");
	TRY(expect_err6_passed(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	ib[14 + IP6_LEN + ICMP6_HDR + 6] = IPPROTO_ICMP6;
	put16(ib + 14 + IP6_LEN + 2, 0);
	put16(ib + 14 + IP6_LEN + 2, l6_csum_compute(ib + 14));
	label("port unreachable quoting ICMPv6");
	TRY(expect_err6_passed(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	il = err6_build(err, 1, 4, 0, &seen, PKT_MAX, ib);
	memcpy(ib, MAC_PUB, 6);
	label("the backend's port unreachable arriving on the public side");
	TRY(expect_err6_passed(SIDE_PUB, ib, il, XFWD_CNT_PASS_NO_MATCH));
	il = err6_build(err, 128, 0, 0, &seen, 16, ib);
	label("an echo request is not an error (and its host no masqueraded one)");
	TRY(expect_err6_passed(SIDE_LAN, ib, il, XFWD_CNT_PASS_NO_MATCH));
	il = err6_build(err, 200, 0, 0, &seen, 16, ib);
	label("an ICMPv6 informational message of type 200: the kernel's");
	return expect_err6_passed(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP);
}

/*
 * The Packet Too Big XDP sends for the packet in: every byte (as the
 * kernel's: type 2, code 0, the egress MTU, hop limit 255, from the
 * gateway's address src on the interface it came in by, to its sender, by
 * the MAC it came from), the quote the packet as it came, cut at 1280
 * bytes; nothing of its connection changes.
 */
static int expect_too_big(int side, const struct pkt6_spec *in, const uint8_t *src, uint32_t mtu,
			  const struct xfwd_flow6_key *ok)
{
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt6_build(in, ib), el;
	struct xfwd_flow6 f0, f1;
	struct pkt6_spec err = *in, q = *in;
	struct counters a, b;
	int fd = bpf_map__fd(skel->maps.xfwd_flows6);

	if (bpf_map_lookup_elem(fd, ok, &f0)) {
		fd = bpf_map__fd(skel->maps.xfwd_pending6);
		if (bpf_map_lookup_elem(fd, ok, &f0))
			return fail("%s: its connection has no entry", pkt_label);
	}
	memcpy(err.dmac, in->smac, 6);
	memcpy(err.smac, in->dmac, 6);
	err.vlan = 0;
	err.tclass = 0;
	err.flow = 0;
	err.hop_limit = 255;
	memcpy(err.saddr, src, 16);
	memcpy(err.daddr, in->saddr, 16);
	el = err6_build(err, 2, 0, mtu, &q, QUOTE_MAX, eb);
	TRY(run_expect(side, ib, il, XDP_TX, &a, &b));
	if (!ASSERT_EQ(R.len, 14 + IP6_LEN + ICMP6_HDR + (il - (in->vlan ? 18 : 14) < QUOTE_MAX ?
							   il - (in->vlan ? 18 : 14) : QUOTE_MAX),
		       "packet too big frame length"))
		return -1;
	TRY(check_err6(eb, el, 0));
	if (!ASSERT_EQ(R.frame[14 + IP6_LEN], 2, "icmpv6 type (packet too big)") ||
	    !ASSERT_EQ(R.frame[14 + IP6_LEN + 1], 0, "icmpv6 code") ||
	    !ASSERT_EQ(get32(R.frame + 14 + IP6_LEN + 4), mtu, "icmpv6 mtu") ||
	    !ASSERT_EQ(R.frame[14 + 7], 255, "hop limit"))
		return -1;
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_FRAG_SENT, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, 0));
	if (bpf_map_lookup_elem(fd, ok, &f1))
		return fail("%s: its connection is gone", pkt_label);
	if (!ASSERT_EQ(f1.packets, f0.packets, "its connection's packets") ||
	    !ASSERT_EQ(f1.bytes, f0.bytes, "its connection's bytes") ||
	    !ASSERT_EQ(f1.state, f0.state, "its connection's state"))
		return -1;
	return 0;
}

/*
 * A packet of a connection too big for the egress (IPv6 routers never
 * fragment): XDP answers Packet Too Big with the egress MTU. From the
 * client with the LAN at MTU 1280 (1400 bytes, and 1500 behind a VLAN tag:
 * the quote cut at 1232 bytes), from the backend with the public side at
 * 1280; a packet of exactly 1280 bytes goes through.
 */
PROG_CASE(ipv6_packet_too_big_sent)
{
	struct pkt6_spec c = pkt6(SIDE_PUB, IPPROTO_TCP, CLIENT6, 47100, PUB6, 80);
	struct pkt6_spec s = pkt6(SIDE_LAN, IPPROTO_TCP, B6_1, 8080, CLIENT6, 47100);
	struct xfwd_flow6_key ok = fkey6(IPPROTO_TCP, CLIENT6, 47100, PUB6, 80);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_TCP, B6_1, 8080, CLIENT6, 47100);
	int rc = -1;

	TRY(rule6(IPPROTO_TCP, 80, B6_1, 8080, 2));
	label("SYN [2001:db8:100::2]:47100 > [2001:db8:100::1]:80");
	TRY(forwarded(SIDE_PUB, &c));
	s.tcp_flags = TH_SYN | TH_ACK;
	s.ack = c.seq + 1;
	label("SYN-ACK");
	TRY(forwarded(SIDE_LAN, &s));
	if (sh("ip link set dev " IF_LAN " mtu 1280"))
		return fail("cannot set the LAN MTU");
	c.tcp_flags = TH_ACK | TH_PSH;
	c.seq++;
	c.ack = s.seq + 1;
	c.payload = pattern;
	c.payload_len = 1400 - IP6_LEN - TCP_LEN;
	label("1400 bytes from the client, LAN MTU 1280");
	if (expect_too_big(SIDE_PUB, &c, PUB6, 1280, &ok))
		goto out;
	c.payload_len = 1500 - IP6_LEN - TCP_LEN;
	c.vlan = 1;
	c.vlan_tci = 7;
	label("1500 bytes from the client behind a VLAN tag");
	if (expect_too_big(SIDE_PUB, &c, PUB6, 1280, &ok))
		goto out;
	c.vlan = 0;
	c.payload_len = 1280 - IP6_LEN - TCP_LEN;
	label("1280 bytes from the client");
	if (forwarded(SIDE_PUB, &c))
		goto out;
	if (sh("ip link set dev " IF_LAN " mtu 1500; ip link set dev " IF_PUB " mtu 1280"))
		goto out;
	s.tcp_flags = TH_ACK | TH_PSH;
	s.seq++;
	s.ack = c.seq + 1280 - IP6_LEN - TCP_LEN;
	s.payload = pattern;
	s.payload_len = 1300 - IP6_LEN - TCP_LEN;
	label("1300 bytes from the backend, public MTU 1280");
	if (expect_too_big(SIDE_LAN, &s, LAN6, 1280, &rk))
		goto out;
	rc = 0;
out:
	if (sh("ip link set dev " IF_LAN " mtu 1500; ip link set dev " IF_PUB " mtu 1500"))
		rc = fail("cannot restore the MTUs");
	return rc;
}

/* Without an IPv6 address on the interface the packet came in by (attach
 * found none), there is no source for Packet Too Big: the packet goes up
 * untouched, counted pass_frag_needed. */
PROG_CASE(ipv6_packet_too_big_no_address_passed)
{
	struct pkt6_spec c = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7200, PUB6, 53);
	struct xfwd_config cfg;
	uint8_t ib[PKT_MAX];
	size_t il;
	int rc = -1;

	TRY(rule6(IPPROTO_UDP, 53, B6_1, 5353, 1));
	label("UDP [2001:db8:100::2]:7200 > [2001:db8:100::1]:53");
	TRY(forwarded(SIDE_PUB, &c));
	TRY(config_get(&cfg));
	memset(cfg.addr6[XFWD_IF_PUBLIC], 0, 16);
	TRY(config_set(&cfg));
	if (sh("ip link set dev " IF_LAN " mtu 1280"))
		return fail("cannot set the LAN MTU");
	c.payload = pattern;
	c.payload_len = 1400 - IP6_LEN - UDP_LEN;
	il = pkt6_build(&c, ib);
	label("1400 bytes from the client, LAN MTU 1280, no public IPv6 address");
	if (expect_err6_passed(SIDE_PUB, ib, il, XFWD_CNT_PASS_FRAG_NEEDED))
		goto out;
	rc = 0;
out:
	if (sh("ip link set dev " IF_LAN " mtu 1500"))
		rc = fail("cannot restore the LAN MTU");
	return rc;
}

/*
 * A local: rule's connection: a router's Packet Too Big about what the
 * gateway's socket sent (from the public port 2222, as tc egress made it)
 * goes up quoting it as the socket sent it (port 22), so that the socket
 * learns its path MTU.
 */
PROG_CASE(ipv6_icmp_err_local_target)
{
	struct pkt6_spec c = pkt6(SIDE_PUB, IPPROTO_TCP, CLIENT6, 47010, PUB6, 2222);
	struct pkt6_spec sent = pkt6(SIDE_PUB, IPPROTO_TCP, PUB6, 2222, CLIENT6, 47010);
	struct pkt6_spec err = pkt6(SIDE_PUB, 0, ROUTER6, 0, PUB6, 0), s;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	struct counters a, b;
	size_t il, el;

	struct xfwd_rule6_key k = { .port = htons(2222), .proto = IPPROTO_TCP };
	struct xfwd_rule6 r = { .to_port = htons(22), .flags = XFWD_RULE_LOCAL, .id = 1,
				.pub_lo = 2222, .pub_hi = 2222 };

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_rules6), &k, &r, BPF_NOEXIST))
		return fail("cannot add the local: rule: %s", strerror(errno));
	il = pkt6_build(&c, ib);
	label("SYN [2001:db8:100::2]:47010 > [2001:db8:100::1]:2222, local:22");
	TRY(run_expect(SIDE_PUB, ib, il, XDP_PASS, &a, &b));
	TRY(expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1));
	sent.tcp_flags = TH_SYN | TH_ACK;
	sent.ack = c.seq + 1;
	sent.payload = pattern;
	sent.payload_len = 1400;
	s = sent;
	s.sport = 22;
	il = err6_build(err, 2, 0, 1280, &sent, QUOTE_MAX, ib);
	el = err6_build(err, 2, 0, 1280, &s, QUOTE_MAX, eb);
	label("a router's packet too big about the socket's segment from port 2222");
	TRY(run_expect(SIDE_PUB, ib, il, XDP_PASS, &a, &b));
	TRY(check_err6(eb, el, 0));
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 1));
	return expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1);
}

/*
 * Extension headers in the quote are stepped over as the packet's own: the
 * backend's port unreachable about a datagram that carried Destination
 * Options; the client's "fragment reassembly time exceeded" (RFC 4443 3.3,
 * code 1) quoting the first fragment of the backend's answer, its Fragment
 * header and UDP header (its checksum the whole datagram's: updated as the
 * fragment's was). Each translated as any error. An error quoting a later
 * fragment quotes no ports: passed (pass_fragment).
 */
PROG_CASE(ipv6_icmp_err_quote_extension_headers)
{
	static const uint8_t dest[8] = { IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };
	uint8_t first[8] = { IPPROTO_UDP, 0, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78 };
	struct pkt6_spec u = pkt6(SIDE_PUB, IPPROTO_UDP, CLIENT6, 7040, PUB6, 53);
	struct pkt6_spec s = pkt6(SIDE_LAN, IPPROTO_UDP, B6_1, 5353, CLIENT6, 7040);
	struct pkt6_spec seen, err = pkt6(SIDE_LAN, 0, B6_1, 0, CLIENT6, 0);	/* the backend's */
	uint8_t ib[PKT_MAX];
	size_t il;

	TRY(rule6(IPPROTO_UDP, 53, B6_1, 5353, 1));
	u.payload = pattern;
	u.payload_len = 100;
	u.ext = dest;
	u.ext_len = sizeof(dest);
	u.ext_first = NH_DEST;
	label("UDP [2001:db8:100::2]:7040 > [2001:db8:100::1]:53 behind Destination Options");
	TRY(forwarded(SIDE_PUB, &u));
	seen = received6(SIDE_PUB, &u, B6_1, 5353);
	label("the backend's port unreachable quoting it, Destination Options and all");
	TRY(err6_about(SIDE_PUB, &u, &seen, err, 1, 4, 0, PKT_MAX, 1));

	s.payload = pattern;
	s.payload_len = 1000;
	s.ext = first;
	s.ext_len = sizeof(first);
	s.ext_first = NH_FRAGMENT;
	label("the backend's answer, a first fragment");
	TRY(forwarded(SIDE_LAN, &s));
	seen = received6(SIDE_LAN, &s, PUB6, 53);
	err = pkt6(SIDE_PUB, 0, CLIENT6, 0, PUB6, 0);	/* the client's */
	label("the client's reassembly time exceeded quoting 200 bytes of the first fragment");
	TRY(err6_about(SIDE_LAN, &s, &seen, err, 3, 1, 0, 200, 0));

	first[2] = 0x04;	/* offset 1024, the last fragment (seen's too) */
	first[3] = 0x00;
	il = err6_build(err, 3, 1, 0, &seen, 200, ib);
	label("the same quoting a later fragment (no ports)");
	return expect_err6_passed(SIDE_PUB, ib, il, XFWD_CNT_PASS_FRAGMENT);
}
