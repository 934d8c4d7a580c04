// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPv6 fragments (a Fragment header, RFC 8200 4.5) of translated flows,
 * frag.c's cases for IPv6: first fragments translated and the later ones
 * after them both ways (DNAT, --snat, hairpin, local:), Destination Options
 * in the fragmentable part, later fragments of unknown datagrams (passed
 * from the internet, dropped from a LAN unless the kernel's), the atomic
 * fragment, a first fragment too short for its TCP header, spoofed first
 * fragments, fragments too big for the egress. Each fragment out is
 * compared byte for byte with the same cut of the translated datagram
 * built from scratch, and the fragments out, reassembled, must carry a
 * TCP/UDP checksum that is right over the whole datagram (recomputed).
 */
#include "harness.h"
#include "pkt6.h"
#include "ipv6.h"

#define FRAG6_DGRAM	2000	/* payload bytes of the fragmented datagrams */
#define FRAG6_ID	0x5eed0001u
#define FRAG6_OFF	(14 + IP6_LEN)	/* the Fragment header, no tag */

/* How a datagram is cut: into n fragments, sizes[] those of all but the
 * last (multiples of 8), which takes the rest. */
struct cut6 {
	unsigned n;
	size_t sizes[2];
};

static const struct cut6 two = { 2, { 1232 } }, three = { 3, { 800, 504 } };

/* The fragment at offset off (a multiple of 8) of the fragmentable part,
 * n bytes long, of the unfragmented IPv6 frame whole (pkt6_build, no tag):
 * its IPv6 header, a Fragment header (id, M if more) whose next header is
 * the one the IPv6 header had, the bytes. */
static size_t frag6_cut(const uint8_t *whole, size_t off, size_t n, int more, uint32_t id,
			uint8_t *out)
{
	memset(out, 0, PKT_MAX);
	memcpy(out, whole, FRAG6_OFF);
	out[14 + 6] = NH_FRAGMENT;
	put16(out + 14 + 4, (uint16_t)(8 + n));
	out[FRAG6_OFF] = whole[14 + 6];
	put16(out + FRAG6_OFF + 2, (uint16_t)(off | !!more));
	put32(out + FRAG6_OFF + 4, id);
	memcpy(out + FRAG6_OFF + 8, whole + FRAG6_OFF + off, n);
	return FRAG6_OFF + 8 + n;
}

/* Fragment k of the frame whole (wlen bytes) cut as c; *off is its offset. */
static size_t frag6_k(const uint8_t *whole, size_t wlen, const struct cut6 *c, unsigned k,
		      uint8_t *out, size_t *off)
{
	size_t total = wlen - FRAG6_OFF, n;
	unsigned i;

	for (*off = 0, i = 0; i < k; i++)
		*off += c->sizes[i];
	n = k + 1 < c->n ? c->sizes[k] : total - *off;
	return frag6_cut(whole, *off, n, k + 1 < c->n, FRAG6_ID, out);
}

/* Fragment k of the datagram s cut as c, into out. */
static size_t frag6_of(const struct pkt6_spec *s, const struct cut6 *c, unsigned k, uint8_t *out)
{
	static uint8_t w[PKT_MAX];
	size_t off, len = pkt6_build(s, w);

	return frag6_k(w, len, c, k, out, &off);
}

/* s made a datagram of FRAG6_DGRAM bytes of pattern. */
static struct pkt6_spec dgram6(struct pkt6_spec s)
{
	s.payload = pattern;
	s.payload_len = FRAG6_DGRAM;
	return s;
}

/* The reassembled datagram (IPv6 header at ra, the Fragment header gone,
 * len bytes of payload) carries a right TCP/UDP checksum. */
static int expect_reassembled_csum(uint8_t *ra, size_t len)
{
	struct frame6 f;
	uint8_t proto;
	size_t l4;

	put16(ra + 4, (uint16_t)len);
	l4 = ip6_upper(ra, IP6_LEN + len, &proto);
	(void)f;
	label("%s: reassembled (%zu bytes)", pkt_label, IP6_LEN + len);
	if (!ASSERT_TRUE(l6_csum_valid(ra), "%s checksum 0x%04x is wrong over the datagram "
			 "(recomputed: 0x%04x)", proto == IPPROTO_TCP ? "tcp" : "udp",
			 get16(ra + l4 + (proto == IPPROTO_TCP ? 16 : 6)), l6_csum_compute(ra)))
		return -1;
	return 0;
}

/* The last run's frame is exp (el bytes), byte for byte. */
static int expect_frame6_bytes(const uint8_t *exp, size_t el)
{
	long d;

	if (!ASSERT_EQ(R.meta_len, 0, "XDP metadata length") || !ASSERT_EQ(R.len, el, "frame length"))
		return -1;
	d = frame_diff(exp, R.frame, el);
	if (d >= 0)
		return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
			    d < FRAG6_OFF + 8 && d >= FRAG6_OFF ? "fragment header" :
			    frame6_field(exp, el, (size_t)d), exp[d], R.frame[d]);
	return 0;
}

/*
 * The datagram in, sent on side in fragments cut as c, must come out as
 * exp cut the same way: each fragment with verdict (redirected, or passed
 * up for local:), every byte as expected, counted in frag_translated; and
 * the fragments out, reassembled, must carry a TCP/UDP checksum that is
 * right over the whole datagram.
 */
static int frag6_expect(int side, const struct pkt6_spec *in, const struct pkt6_spec *exp,
			const struct cut6 *c, uint32_t verdict)
{
	static uint8_t wi[PKT_MAX], we[PKT_MAX], fi[PKT_MAX], fe[PKT_MAX], ra[PKT_MAX];
	size_t li = pkt6_build(in, wi), le = pkt6_build(exp, we), lfi, lfe, off = 0, n = 0;
	char base[200];
	struct counters a, b;

	snprintf(base, sizeof(base), "%s", pkt_label);
	for (unsigned k = 0; k < c->n; k++) {
		lfi = frag6_k(wi, li, c, k, fi, &off);
		lfe = frag6_k(we, le, c, k, fe, &off);
		n = lfe - FRAG6_OFF - 8;
		label("%s: fragment %u of %u (offset %zu, %zu bytes)", base, k + 1, c->n, off, n);
		TRY(run_expect(side, fi, lfi, verdict, &a, &b));
		TRY(expect_frame6_bytes(fe, lfe));
		TRY(moved6(&a, &b));
		TRY(expect_moved(&a, &b, XFWD_CNT_FWD_REDIRECT, verdict == XDP_REDIRECT));
		TRY(expect_moved(&a, &b, XFWD_CNT_FRAG_XLATED, 1));
		if (!k) {
			memcpy(ra, R.frame + 14, IP6_LEN);
			ra[6] = R.frame[FRAG6_OFF];
		}
		memcpy(ra + IP6_LEN + off, R.frame + FRAG6_OFF + 8, n);
	}
	snprintf(base + strlen(base), sizeof(base) - strlen(base), "%s", "");
	label("%s", base);
	return expect_reassembled_csum(ra, off + n);
}

static int frag6_expect_xlated(int side, const struct pkt6_spec *in, const uint8_t *saddr,
			       uint16_t sport, const uint8_t *daddr, uint16_t dport,
			       const struct cut6 *c)
{
	struct pkt6_spec exp = xlated6(in, saddr, sport, daddr, dport);

	return frag6_expect(side, in, &exp, c, XDP_REDIRECT);
}

/* Passed up byte for byte, or dropped, counted as cnt; nothing started. */
static int frag6_expect_verdict(int side, const uint8_t *b, size_t len, uint32_t verdict,
				unsigned cnt)
{
	return verdict == XDP_PASS ? expect_pass6_n(side, b, len, cnt) :
				     expect_drop6_n(side, b, len, cnt);
}

/* ------------------------------------------------------------ cases */

/* A UDP datagram too big for one packet to a forwarded port, and back in
 * three fragments (an odd length: the last byte is half a word). */
PROG_CASE(ipv6_frag_udp_forwarded)
{
	struct xfwd_flow6_key ok = fkey6(IPPROTO_UDP, CLIENT6, 45000, PUB6, 53);
	struct xfwd_flow6_key rk = fkey6(IPPROTO_UDP, B6_1, 5353, CLIENT6, 45000);
	struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45000, PUB6, 53));
	struct pkt6_spec rep = lan6(IPPROTO_UDP, B6_1, 5353, CLIENT6, 45000);

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	label("UDP [2001:db8:100::2]:45000 > [2001:db8:100::1]:53, 2008 bytes");
	TRY(frag6_expect_xlated(SIDE_PUB, &in, CLIENT6, 45000, B6_1, 5353, &two));
	rep.payload = pattern + 1;
	rep.payload_len = FRAG6_DGRAM - 7;
	label("its reply, 2001 bytes");
	TRY(frag6_expect_xlated(SIDE_LAN, &rep, PUB6, 53, CLIENT6, 45000, &three));
	label("the connection");
	return conn6_expect(&ok, &rk, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY);
}

/* A TCP segment in fragments through a --snat rule: the first fragment is
 * tracked, the later one only translated, and the backend's ACK of the
 * whole segment is in window (the later fragment moved what the client
 * sent); the answer comes back in fragments too. */
PROG_CASE(ipv6_frag_tcp_snat)
{
	struct pkt6_spec c = pub6(IPPROTO_TCP, CLIENT6, 45010, PUB6, 80);
	struct pkt6_spec s = lan6(IPPROTO_TCP, B6_1, 8080, LAN6, 45010);

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, XFWD_RULE_SNAT, 1));
	label("SYN");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 45010, B6_1, 8080));
	s.tcp_flags = TH_SYN | TH_ACK;
	label("SYN-ACK");
	TRY(expect_xlated6(SIDE_LAN, &s, PUB6, 80, CLIENT6, 45010));
	c.tcp_flags = TH_ACK;
	c.seq = 0x10203041;
	c.ack = 0x50607081;
	label("ACK");
	TRY(expect_xlated6(SIDE_PUB, &c, LAN6, 45010, B6_1, 8080));
	c = dgram6(c);
	c.tcp_flags = TH_PSH | TH_ACK;
	label("a 2000-byte segment");
	TRY(frag6_expect_xlated(SIDE_PUB, &c, LAN6, 45010, B6_1, 8080, &two));
	s = dgram6(s);
	s.tcp_flags = TH_PSH | TH_ACK;
	s.seq = 0x50607081;
	s.ack = 0x10203041 + FRAG6_DGRAM;
	label("the backend's answer, acknowledging all of it, in fragments");
	TRY(frag6_expect_xlated(SIDE_LAN, &s, PUB6, 80, CLIENT6, 45010, &three));
	c = pub6(IPPROTO_TCP, CLIENT6, 45010, PUB6, 80);
	c.tcp_flags = TH_ACK;
	c.seq = 0x10203041 + FRAG6_DGRAM;
	c.ack = 0x50607081 + FRAG6_DGRAM;
	label("the client's ACK of all of that");
	return expect_xlated6(SIDE_PUB, &c, LAN6, 45010, B6_1, 8080);
}

/* A LAN host to a forwarded port of the gateway (hairpin: SNAT to the
 * gateway's LAN address), in fragments both ways. */
PROG_CASE(ipv6_frag_hairpin)
{
	struct pkt6_spec in = dgram6(lan6(IPPROTO_UDP, B6_2, 45020, PUB6, 53));
	struct pkt6_spec rep = dgram6(lan6(IPPROTO_UDP, B6_1, 5353, LAN6, 45020));

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	label("UDP [2001:db8:200::3]:45020 > [2001:db8:100::1]:53");
	TRY(frag6_expect_xlated(SIDE_LAN, &in, LAN6, 45020, B6_1, 5353, &two));
	label("its reply");
	return frag6_expect_xlated(SIDE_LAN, &rep, PUB6, 53, B6_2, 45020, &three);
}

/* To a local: target: the first fragment's port is translated and it goes
 * up; the later ones go up as they are (their addresses are the
 * connection's), counted; the kernel reassembles them. */
PROG_CASE(ipv6_frag_local_target)
{
	static const uint8_t UNSPEC[16];
	struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45030, PUB6, 5300));
	struct pkt6_spec exp = in;

	TRY(rule6_add(IPPROTO_UDP, NULL, 5300, UNSPEC, 53, XFWD_RULE_LOCAL, 1));
	exp.dport = 53;
	label("UDP [2001:db8:100::2]:45030 > [2001:db8:100::1]:5300, local:53");
	return frag6_expect(SIDE_PUB, &in, &exp, &three, XDP_PASS);
}

/* Destination Options in the fragmentable part, before the UDP header:
 * every fragment's Fragment header names them, the first fragment is
 * parsed through them. */
PROG_CASE(ipv6_frag_dest_options)
{
	static const uint8_t dest[8] = { IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };
	struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45040, PUB6, 53));

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	in.ext = dest;
	in.ext_len = sizeof(dest);
	in.ext_first = NH_DEST;
	label("UDP behind Destination Options, in fragments");
	return frag6_expect_xlated(SIDE_PUB, &in, CLIENT6, 45040, B6_1, 5353, &three);
}

/*
 * A later fragment whose first was not seen (out of order), or not lately
 * (ip6frag_time, 60 s), or of another datagram or side: from the internet,
 * to the kernel untouched (pass_frag_unknown); from a LAN, where it would
 * leave untranslated, dropped (drop_frag_unknown). The flow lives on.
 */
PROG_CASE(ipv6_frag_later_unknown)
{
	struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45050, PUB6, 53));
	struct pkt6_spec rep = dgram6(lan6(IPPROTO_UDP, B6_1, 5353, CLIENT6, 45050));
	struct pkt6_spec o;
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	label("the last fragment before the first (out of order), from the internet");
	len = frag6_of(&in, &two, 1, b);
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN));
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6) + map_count(skel->maps.xfwd_flows6), 0,
		       "IPv6 flow entries"))
		return -1;
	label("the backend's answer's last fragment before its first, from the LAN");
	len = frag6_of(&rep, &two, 1, b);
	TRY(frag6_expect_verdict(SIDE_LAN, b, len, XDP_DROP, XFWD_CNT_DROP_FRAG_UNKNOWN));

	label("the connection, answered");
	TRY(frag6_expect_xlated(SIDE_PUB, &in, CLIENT6, 45050, B6_1, 5353, &two));
	rep.payload_len = 20;
	TRY(expect_xlated6(SIDE_LAN, &rep, PUB6, 53, CLIENT6, 45050));
	label("a first fragment");
	len = frag6_of(&in, &two, 0, b);
	TRY(run(SIDE_PUB, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	label("a later fragment of another datagram (identification) of the flow");
	len = frag6_of(&in, &two, 1, b);
	b[FRAG6_OFF + 7] ^= 1;
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment with another source");
	o = in;
	memcpy(o.saddr, PUB6_2, 16);
	len = frag6_of(&o, &two, 1, b);
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("its datagram's later fragment on the other side");
	len = frag6_of(&in, &two, 1, b);
	memcpy(b, MAC_LAN, 6);
	TRY(frag6_expect_verdict(SIDE_LAN, b, len, XDP_DROP, XFWD_CNT_DROP_FRAG_UNKNOWN));
	label("its datagram's later fragment 61 s after the first (ip6frag_time 60 s)");
	skel->bss->xfwd_clock_offset_ns = 61 * NSEC;
	len = frag6_of(&in, &two, 1, b);
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN));
	label("the flow is alive all the same");
	in.payload_len = 20;
	return expect_xlated6(SIDE_PUB, &in, CLIENT6, 45050, B6_1, 5353);
}

/* A LAN host's own fragmented datagram, no connection of xfwd's: its first
 * fragment goes up (pass_no_match), and so do its later ones, remembered
 * as the kernel's (not dropped as unknown). */
PROG_CASE(ipv6_frag_lan_host_own_datagram)
{
	struct pkt6_spec out = dgram6(lan6(IPPROTO_UDP, B6_2, 45060, CLIENT6, 9999));
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	label("UDP [2001:db8:200::3]:45060 > [2001:db8:100::2]:9999, first fragment");
	len = frag6_of(&out, &three, 0, b);
	TRY(frag6_expect_verdict(SIDE_LAN, b, len, XDP_PASS, XFWD_CNT_PASS_NO_MATCH));
	for (unsigned k = 1; k < 3; k++) {
		label("its fragment %u", k + 1);
		len = frag6_of(&out, &three, k, b);
		TRY(frag6_expect_verdict(SIDE_LAN, b, len, XDP_PASS, XFWD_CNT_PASS_NO_MATCH));
	}
	label("another datagram's later fragment from that host (its first not seen)");
	len = frag6_of(&out, &three, 2, b);
	b[FRAG6_OFF + 7] ^= 1;
	return frag6_expect_verdict(SIDE_LAN, b, len, XDP_DROP, XFWD_CNT_DROP_FRAG_UNKNOWN);
}

/* An atomic fragment (offset 0, no M: RFC 6946) is a whole datagram with a
 * Fragment header: translated as one, its checksum verified whole when it
 * starts a connection, the header kept. */
PROG_CASE(ipv6_frag_atomic)
{
	static const struct cut6 whole = { 1, { 0 } };
	struct pkt6_spec in = pub6(IPPROTO_UDP, CLIENT6, 45070, PUB6, 53);
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	in.payload = pattern;
	in.payload_len = 100;
	in.csum_bad = 1;
	label("an atomic fragment with a wrong UDP checksum");
	len = frag6_of(&in, &whole, 0, b);
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_DROP, XFWD_CNT_DROP_BAD_CSUM));
	in.csum_bad = 0;
	label("an atomic fragment");
	{
		struct pkt6_spec exp = xlated6(&in, CLIENT6, 45070, B6_1, 5353);
		struct counters a, c;
		uint8_t ib[PKT_MAX], eb[PKT_MAX], w[PKT_MAX];
		size_t il, el, off;

		il = frag6_k(w, pkt6_build(&in, w), &whole, 0, ib, &off);
		el = frag6_k(w, pkt6_build(&exp, w), &whole, 0, eb, &off);
		TRY(run_expect(SIDE_PUB, ib, il, XDP_REDIRECT, &a, &c));
		TRY(expect_frame6_bytes(eb, el));
		TRY(expect_moved(&a, &c, XFWD_CNT_FLOW_NEW6, 1));
		TRY(expect_moved(&a, &c, XFWD_CNT_FRAG_XLATED, 0));
		memcpy(w, R.frame + 14, IP6_LEN);
		w[6] = R.frame[FRAG6_OFF];
		memcpy(w + IP6_LEN, R.frame + FRAG6_OFF + 8, R.len - FRAG6_OFF - 8);
		TRY(expect_reassembled_csum(w, R.len - FRAG6_OFF - 8));
	}
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_frags6), 0, "datagrams remembered"))
		return -1;
	return 0;
}

/* A first fragment that does not hold the whole header chain (RFC 7112):
 * its TCP header cut short, or Destination Options running past it. Not
 * translatable: up to the kernel as malformed, as the kernel takes it (as
 * its destination it discards it, RFC 8200 4.5; conntrack cannot read it
 * either). Nothing starts. */
PROG_CASE(ipv6_frag_first_too_short)
{
	static const struct cut6 tiny = { 2, { 8 } };
	static const uint8_t dest[24] = { IPPROTO_UDP, 2, 1, 20, 0 };
	struct pkt6_spec t = dgram6(pub6(IPPROTO_TCP, CLIENT6, 45080, PUB6, 80));
	struct pkt6_spec u = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45081, PUB6, 53));
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule6_add(IPPROTO_TCP, NULL, 80, B6_1, 8080, 0, 1));
	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 2));
	label("a SYN's first fragment with 8 bytes of its TCP header");
	len = frag6_of(&t, &tiny, 0, b);
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_MALFORMED));
	label("a first fragment whose Destination Options run past it");
	u.ext = dest;
	u.ext_len = sizeof(dest);
	u.ext_first = NH_DEST;
	len = frag6_of(&u, &(struct cut6){ 2, { 16 } }, 0, b);
	TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_MALFORMED));
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6), 0, "entries in xfwd_pending6"))
		return -1;
	label("the SYN's later fragment");
	len = frag6_of(&t, &tiny, 1, b);
	return frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN);
}

/* A first fragment is a new connection's first packet like any: the source
 * checks refuse a spoofed one, and its later fragments find nothing. */
PROG_CASE(ipv6_frag_first_spoofed_source)
{
	static const struct { const uint8_t *src; unsigned cnt; const char *what; } bad[] = {
		{ B6_2, XFWD_CNT_DROP_SRC_LAN, "a LAN host" },
		{ LAN6, XFWD_CNT_DROP_SRC_LOCAL, "the gateway's LAN address" },
		{ PUB6, XFWD_CNT_DROP_SRC_LOCAL, "the gateway's public address" },
	};
	uint8_t b[PKT_MAX];
	struct counters x, y;
	size_t len;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, bad[i].src, 45090, PUB6, 53));

		label("first fragment from the internet claiming %s (%s)", bad[i].what,
		      a6str(bad[i].src));
		len = frag6_of(&in, &two, 0, b);
		TRY(run_expect(SIDE_PUB, b, len, XDP_DROP, &x, &y));
		TRY(expect_moved(&x, &y, bad[i].cnt, 1));
		TRY(expect_moved(&x, &y, XFWD_CNT_FRAG_XLATED, 0));
		label("its later fragment");
		len = frag6_of(&in, &two, 1, b);
		TRY(frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN));
	}
	if (!ASSERT_EQ(map_count(skel->maps.xfwd_pending6) + map_count(skel->maps.xfwd_flows6), 0,
		       "IPv6 flow entries") ||
	    !ASSERT_EQ(map_count(skel->maps.xfwd_frags6), 0, "datagrams remembered"))
		return -1;
	return 0;
}

/* The last run is a Packet Too Big to in's sender with mtu, quoting in. */
static int expect_ptb(const uint8_t *in, size_t il, uint32_t mtu)
{
	const uint8_t *ip = R.frame + 14, *icmp = ip + IP6_LEN;
	size_t q = il - 14 < 1232 ? il - 14 : 1232;
	uint64_t sum;

	if (!ASSERT_VERDICT(R.verdict, XDP_TX) ||
	    !ASSERT_EQ(R.len, 14 + IP6_LEN + 8 + q, "Packet Too Big frame length") ||
	    !ASSERT_EQ(ip[6], IPPROTO_ICMP6, "next header") ||
	    !ASSERT_TRUE(!memcmp(ip + 24, in + 14 + 8, 16), "not to the fragment's sender") ||
	    !ASSERT_EQ(icmp[0], 2, "icmpv6 type (packet too big)") ||
	    !ASSERT_EQ(get32(icmp + 4), mtu, "icmpv6 mtu"))
		return -1;
	sum = sum_words(0, ip + 8, 32) + 8 + q + IPPROTO_ICMP6;
	sum = sum_words(sum, icmp, 8 + q);
	if (!ASSERT_TRUE(fold16(sum) == 0xffff, "icmpv6 checksum 0x%04x is wrong", get16(icmp + 2)) ||
	    !ASSERT_TRUE(!memcmp(icmp + 8, in + 14, q), "the quote is not the fragment as sent"))
		return -1;
	return 0;
}

/* IPv6 routers never fragment: a fragment too big for the egress (the LAN's
 * MTU 1280) gets Packet Too Big like any packet, a first one (nothing
 * remembered: its later fragments are unknown) or a later one. */
PROG_CASE(ipv6_frag_too_big_sends_ptb)
{
	static const struct cut6 big_first = { 2, { 1400 } }, big_last = { 2, { 504 } };
	struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45100, PUB6, 53));
	uint8_t b[PKT_MAX];
	size_t len;
	int rc = -1;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	if (sh("ip link set dev " IF_LAN " mtu 1280"))
		return fail("cannot set the MTU of " IF_LAN);
	label("a first fragment of 1448 bytes, LAN MTU 1280");
	len = frag6_of(&in, &big_first, 0, b);
	if (run(SIDE_PUB, b, len) || expect_ptb(b, len, 1280))
		goto out;
	label("its later fragment (it fits)");
	len = frag6_of(&in, &big_first, 1, b);
	if (frag6_expect_verdict(SIDE_PUB, b, len, XDP_PASS, XFWD_CNT_PASS_FRAG_UNKNOWN))
		goto out;
	label("a datagram whose first fragment fits");
	len = frag6_of(&in, &big_last, 0, b);
	if (run(SIDE_PUB, b, len) || !ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		goto out;
	label("its later fragment of 1552 bytes");
	len = frag6_of(&in, &big_last, 1, b);
	if (run(SIDE_PUB, b, len) || expect_ptb(b, len, 1280))
		goto out;
	rc = 0;
out:
	sh("ip link set dev " IF_LAN " mtu 1500");
	return rc;
}

/* File the request XDP would leave in xfwd_finish for the fragment in b
 * (where the kernel gives XDP no metadata, finish.h): the addresses folded,
 * the fragment field all ones, the first fragment's protocol and ports, a
 * later one's Fragment header type and first data bytes. */
static int finish_file6(const uint8_t *b, int later, __u32 mark)
{
	struct xfwd_finish_key k;
	uint32_t w[8];

	memset(&k, 0, sizeof(k));
	memcpy(w, b + 14 + 8, 32);
	for (int i = 0; i < 4; i++) {
		k.saddr ^= w[i];
		k.daddr ^= w[4 + i];
	}
	k.frag_off = 0xffff;
	k.proto = later ? NH_FRAGMENT : b[FRAG6_OFF];
	memcpy(k.l4, b + FRAG6_OFF + 8, 8);
	skel->bss->xfwd_finish_waiting = 1;
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.xfwd_finish), &k, &mark, BPF_ANY))
		return fail("cannot add to xfwd_finish");
	return 0;
}

/* Without the backend's neighbour, XDP passes each fragment up asking tc
 * to finish it (the first one's datagram remembered first); tc ingress
 * translates each, the later one by its datagram, and hands it to the
 * kernel's neighbour resolution (MACs as they came, one hop less). */
PROG_CASE(ipv6_frag_no_neigh_tc_finishes)
{
	struct pkt6_spec in = dgram6(pub6(IPPROTO_UDP, CLIENT6, 45110, PUB6, 53)), exp;
	uint8_t wi[PKT_MAX], we[PKT_MAX], fi[PKT_MAX], fe[PKT_MAX], ra[PKT_MAX];
	size_t li, le, lfi, lfe, off = 0, n = 0;
	struct counters a, c;
	int v, rc = -1;

	TRY(rule6_add(IPPROTO_UDP, NULL, 53, B6_1, 5353, 0, 1));
	exp = xlated6(&in, CLIENT6, 45110, B6_1, 5353);
	memcpy(exp.dmac, in.dmac, 6);
	memcpy(exp.smac, in.smac, 6);
	li = pkt6_build(&in, wi);
	le = pkt6_build(&exp, we);
	if (sh("ip -6 neigh del 2001:db8:200::2 dev " IF_LAN))
		return fail("cannot remove the backend's neighbour entry");
	skel->bss->xfwd_meta_unsupported = 1;
	for (unsigned k = 0; k < two.n; k++) {
		lfi = frag6_k(wi, li, &two, k, fi, &off);
		lfe = frag6_k(we, le, &two, k, fe, &off);
		n = lfe - FRAG6_OFF - 8;
		label("fragment %u of 2 (offset %zu), no neighbour: XDP", k + 1, off);
		if (run_expect(SIDE_PUB, fi, lfi, XDP_PASS, &a, &c) ||
		    expect_moved(&a, &c, XFWD_CNT_PASS_NO_NEIGH, 1) ||
		    finish_file6(fi, k > 0, k ? XFWD_META_FINISH : XFWD_META_FINISH_NEW))
			goto out;
		label("fragment %u of 2 (offset %zu): tc ingress", k + 1, off);
		if (counters_read(&a) || (v = tc_ingress_run(ifx_pub, fi, lfi)) < 0 || counters_read(&c))
			goto out;
		if (!ASSERT_EQ(v, TC_ACT_REDIRECT, "tc ingress verdict (redirect_neigh)"))
			goto out;
		R.frame = R.buf;
		R.len = (uint32_t)lfe;
		R.meta_len = 0;
		if (expect_frame6_bytes(fe, lfe) || expect_moved(&a, &c, XFWD_CNT_FRAG_XLATED, 1) ||
		    expect_moved(&a, &c, XFWD_CNT_TC_FINISH, 1))
			goto out;
		if (!k) {
			memcpy(ra, R.frame + 14, IP6_LEN);
			ra[6] = R.frame[FRAG6_OFF];
		}
		memcpy(ra + IP6_LEN + off, R.frame + FRAG6_OFF + 8, n);
	}
	rc = expect_reassembled_csum(ra, off + n);
out:
	skel->bss->xfwd_meta_unsupported = 0;
	skel->bss->xfwd_finish_waiting = 0;
	map_clear(skel->maps.xfwd_finish);
	sh("%s", neigh_setup);
	return rc;
}
