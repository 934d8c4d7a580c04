// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Why a packet goes to the stack untouched: one table, a row per reason
 * (pass_*), each with the counter that must say so.
 */
#include "harness.h"

PROG_CASE(pass_no_rule)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 81);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN to port 81, rule for 80 only");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 80);
	label("UDP to port 80, rule for TCP only");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
	TRY(map_clear(skel->maps.xfwd_rules));
	p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	label("SYN to port 80, no rules at all");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* Later fragments (offset > 0) of datagrams whose first fragment xfwd did
 * not translate: to the kernel untouched, counted (bpf/frag.h). First
 * fragments are the "fragments" cases' business. */
PROG_CASE(pass_fragments)
{
	static const struct { uint16_t frag; const char *what; } fr[] = {
		{ IPF_MF | 185, "middle fragment (MF, offset 1480)" },
		{ 185, "last fragment (offset 1480)" },
		{ 1, "last fragment (offset 8)" },
		{ IPF_DF | 185, "last fragment with DF" },
		{ IPF_MF | 0x1fff, "middle fragment at the largest offset" },
		{ 0x1fff, "last fragment at the largest offset" },
		{ 0x8000 | IPF_MF | 3, "middle fragment with the reserved bit" },
	};
	struct pkt_spec p, exp;
	unsigned i;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 2));
	for (i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		struct pkt_spec p = pub_pkt(i & 1 ? IPPROTO_TCP : IPPROTO_UDP, CLIENT1, 40000,
					    PUB_ADDR, i & 1 ? 80 : 53);

		p.frag_off = fr[i].frag;
		p.payload = pattern;
		p.payload_len = 64;
		label("%s %s to a forwarded port, no first fragment seen", i & 1 ? "TCP" : "UDP",
		      fr[i].what);
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_FRAG_UNKNOWN));
	}
	/* Not a fragment: the reserved ("evil") bit alone is carried along. */
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 40001, PUB_ADDR, 53);
	p.frag_off = 0x8000 | IPF_DF;
	label("UDP with the reserved flag bit, not a fragment");
	exp = xlated(&p, CLIENT1, 40001, BACKEND1, 5353, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &p, &exp);
}

PROG_CASE(pass_ip_options)
{
	static const uint8_t ra[4] = { 0x94, 0x04, 0x00, 0x00 };	/* router alert */
	static uint8_t nops[40];
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.ip_opts = ra;
	p.ip_opts_len = sizeof(ra);
	label("SYN with IP options (IHL 6)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_IP_OPTIONS));
	memset(nops, 1, sizeof(nops));
	p.ip_opts = nops;
	p.ip_opts_len = sizeof(nops);
	label("SYN with 40 bytes of IP options (IHL 15)");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_IP_OPTIONS);
}

PROG_CASE(pass_ttl)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80), exp;
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	p.ttl = 1;
	label("SYN with TTL 1");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_TTL));
	p.ttl = 0;
	label("SYN with TTL 0");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_TTL));
	u.ttl = 1;
	label("UDP with TTL 1");
	TRY(expect_pass(SIDE_PUB, &u, XFWD_CNT_PASS_TTL));
	/* The boundary: TTL 2 leaves with 1. */
	p.ttl = 2;
	label("SYN with TTL 2");
	exp = xlated(&p, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &p, &exp));
	p.ttl = 255;
	p.tcp_flags = TH_ACK;
	label("ACK with TTL 255");
	exp = xlated(&p, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	TRY(expect_fwd(SIDE_PUB, &p, &exp));
	/* The connection exists now: its replies with TTL 1 and 0 are the
	 * stack's too (it sends time exceeded). */
	p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 40000);
	p.tcp_flags = TH_SYN | TH_ACK;
	p.ttl = 1;
	label("SYN-ACK reply with TTL 1");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_TTL));
	p.ttl = 0;
	label("SYN-ACK reply with TTL 0");
	return expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_TTL);
}

/*
 * Every prefix of a frame shorter than its headers: as cut (tot_len then
 * claims more than the frame holds) and with tot_len saying it ends there
 * (so the L4 bounds checks are reached). The kernel refuses frames shorter
 * than an Ethernet header itself; those never reach the program.
 */
static int trunc_series(const char *what, int side, const struct pkt_spec *s)
{
	uint8_t full[PKT_MAX], b[PKT_MAX];
	size_t fl = pkt_build(s, full), hdr, len;
	struct frame f;
	int err;

	frame_parse(full, fl, &f);
	hdr = f.l4 + f.l4hdr;
	for (len = 0; len < hdr; len++) {
		memcpy(b, full, len);
		label("%s cut to %zu of %zu header bytes", what, len, hdr);
		if (len < ETH_LEN) {
			err = prog_run(side, b, len);
			if (err == -EINVAL)
				continue;
			if (err)
				return fail("%s: BPF_PROG_TEST_RUN: %s", pkt_label, strerror(-err));
			if (!ASSERT_VERDICT(R.verdict, XDP_PASS))
				return -1;
			if (!ASSERT_EQ(R.len, len, "frame length"))
				return -1;
			if (!ASSERT_TRUE(frame_diff(b, R.frame, len) < 0, "frame changed"))
				return -1;
			continue;
		}
		TRY(expect_pass_n(side, b, len, XFWD_CNT_PASS_MALFORMED));
		if (len >= f.l3 + IP4_LEN) {
			put16(b + f.l3 + 2, (uint16_t)(len - f.l3));
			put16(b + f.l3 + 10, ip_csum_compute(b + f.l3));
			label("%s cut to %zu of %zu header bytes, tot_len %zu", what, len, hdr,
			      len - f.l3);
			TRY(expect_pass_n(side, b, len, XFWD_CNT_PASS_MALFORMED));
		}
	}
	/* The whole frame is forwarded: the cuts above were the reason to pass. */
	label("%s, whole", what);
	TRY(run(side, full, fl));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	return 0;
}

PROG_CASE(pass_truncated)
{
	static const uint8_t opts[20] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01,
					  0x01, 0x08, 0x0a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
					  0x07, 0x08 };
	struct pkt_spec tcp = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec tcpo = pub_pkt(IPPROTO_TCP, CLIENT1, 40001, PUB_ADDR, 80);
	struct pkt_spec udp = pub_pkt(IPPROTO_UDP, CLIENT1, 40002, PUB_ADDR, 53);
	struct pkt_spec vtcp = pub_pkt(IPPROTO_TCP, CLIENT1, 40003, PUB_ADDR, 80);
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40002);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	tcpo.tcp_opts = opts;
	tcpo.tcp_opts_len = sizeof(opts);
	tcpo.payload = pattern;
	tcpo.payload_len = 10;
	udp.payload = pattern;
	udp.payload_len = 10;
	vtcp.vlan = 1;
	vtcp.vlan_tci = 7;
	rep.payload = pattern;
	rep.payload_len = 3;
	TRY(trunc_series("TCP SYN", SIDE_PUB, &tcp));
	TRY(trunc_series("TCP with 20 bytes of options", SIDE_PUB, &tcpo));
	TRY(trunc_series("UDP", SIDE_PUB, &udp));
	TRY(trunc_series("802.1Q-tagged TCP SYN", SIDE_PUB, &vtcp));
	/* The UDP flow exists now: its replies too, on the LAN side. */
	return trunc_series("UDP reply", SIDE_LAN, &rep);
}

PROG_CASE(pass_bad_ip_header)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	uint8_t b[PKT_MAX];
	size_t len;
	unsigned ihl;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	for (ihl = 0; ihl < 5; ihl++) {
		len = pkt_build(&p, b);
		b[ETH_LEN] = (uint8_t)(0x40 | ihl);
		put16(b + ETH_LEN + 10, 0);
		put16(b + ETH_LEN + 10, ip_csum_compute(b + ETH_LEN));
		label("SYN with IHL %u", ihl);
		TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	}
	/* IHL 6..15 with the frame ending before the options it announces. */
	for (ihl = 6; ihl < 16; ihl++) {
		len = pkt_build(&p, b);
		b[ETH_LEN] = (uint8_t)(0x40 | ihl);
		put16(b + ETH_LEN + 10, 0);
		put16(b + ETH_LEN + 10, ip_csum_compute(b + ETH_LEN));
		len = ETH_LEN + IP4_LEN + (ihl & 1) * 4;
		label("SYN with IHL %u in a frame of %zu bytes", ihl, len);
		TRY(expect_pass_any(SIDE_PUB, b, len, XFWD_CNT_PASS_IP_OPTIONS, XFWD_CNT_PASS_MALFORMED));
	}
	len = pkt_build(&p, b);
	b[ETH_LEN] = 0x65;	/* version 6 behind the IPv4 ethertype */
	label("SYN with IP version 6 in an IPv4 frame");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	/* The control: the same frame, intact, is forwarded. */
	len = pkt_build(&p, b);
	label("SYN with IHL 5");
	TRY(run(SIDE_PUB, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	return 0;
}

/* A UDP datagram of ulen bytes at the start of s's IP payload (which is
 * longer), its checksum computed over those ulen bytes. */
static size_t udp_short(const struct pkt_spec *s, uint16_t ulen, uint8_t *b)
{
	size_t len = pkt_build(s, b), l3 = s->vlan ? ETH_LEN + VLAN_LEN : ETH_LEN;
	uint8_t *u = b + l3 + IP4_LEN;
	uint64_t sum;
	uint16_t c;

	put16(u + 4, ulen);
	put16(u + 6, 0);
	sum = sum_words(0, b + l3 + 12, 8) + IPPROTO_UDP + ulen;
	c = (uint16_t)~fold16(sum_words(sum, u, ulen));
	put16(u + 6, c ? c : 0xffff);
	return len;
}

PROG_CASE(pass_bad_lengths)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	uint8_t b[PKT_MAX];
	unsigned doff;
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	p.payload = pattern;
	p.payload_len = 20;
	p.tot_len = 20 + 20 + 21;
	label("SYN with tot_len one byte past the frame");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED));
	p.tot_len = 0xffff;
	label("SYN with tot_len 65535");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED));
	p.tot_len = 19;
	label("SYN with tot_len 19");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_MALFORMED));
	p.tot_len = 0;
	len = pkt_build(&p, b);
	put16(b + ETH_LEN + 2, 0);
	put16(b + ETH_LEN + 10, 0);
	put16(b + ETH_LEN + 10, ip_csum_compute(b + ETH_LEN));
	label("SYN with tot_len 0");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));

	len = pkt_build(&p, b);
	for (doff = 0; doff < 16; doff++) {
		/* 40 bytes of segment: offsets 0..4 are too small, 11..15 past its end. */
		if (doff == 5)
			doff = 11;
		b[ETH_LEN + IP4_LEN + 12] = (uint8_t)(doff << 4);
		label("TCP with data offset %u, 40 bytes of segment", doff);
		TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	}

	u.payload = pattern;
	u.payload_len = 12;
	len = pkt_build(&u, b);
	put16(b + ETH_LEN + IP4_LEN + 4, 7);
	label("UDP length 7");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	put16(b + ETH_LEN + IP4_LEN + 4, UDP_LEN + 13);
	label("UDP length one byte past the IP packet");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));
	put16(b + ETH_LEN + IP4_LEN + 4, 0xffff);
	label("UDP length 65535");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_MALFORMED));

	/* Shorter than the IP payload: a datagram with trailing bytes inside
	 * the IP packet, forwarded with them; its checksum covers its length. */
	u.ip_id++;
	len = udp_short(&u, UDP_LEN + 5, b);
	{
		struct pkt_spec x = xlated(&u, CLIENT1, 40000, BACKEND1, 5353, MAC_B1, MAC_LAN);
		uint8_t e[PKT_MAX];
		size_t el = udp_short(&x, UDP_LEN + 5, e);
		long d;

		label("UDP length 13 in a 20-byte IP payload");
		TRY(run(SIDE_PUB, b, len));
		if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
			return -1;
		if (!ASSERT_EQ(R.len, el, "frame length"))
			return -1;
		d = frame_diff(e, R.frame, el);
		if (d >= 0)
			return fail("%s: byte %ld (%s): expected 0x%02x, got 0x%02x", pkt_label, d,
				    frame_field(e, el, (size_t)d), e[d], R.frame[d]);
		return 0;
	}
}

PROG_CASE(pass_not_ipv4)
{
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	/* ARP request: who has 192.0.2.1, tell 192.0.2.2. */
	memset(b, 0, sizeof(b));
	memcpy(b, MAC_BCAST, 6);
	memcpy(b + 6, MAC_C1, 6);
	put16(b + 12, ETHTYPE_ARP);
	put16(b + 14, 1);
	put16(b + 16, ETHTYPE_IP);
	b[18] = 6;
	b[19] = 4;
	put16(b + 20, 1);
	memcpy(b + 22, MAC_C1, 6);
	memcpy(b + 28, &(uint32_t){ CLIENT1 }, 4);
	memcpy(b + 38, &(uint32_t){ PUB_ADDR }, 4);
	label("ARP request");
	TRY(expect_pass_n(SIDE_PUB, b, 42, XFWD_CNT_PASS_NOT_IPV4));

	/* IPv6 TCP SYN 2001:db8::2 -> 2001:db8::1 port 80. */
	memset(b, 0, sizeof(b));
	memcpy(b, MAC_PUB, 6);
	memcpy(b + 6, MAC_UPSTREAM, 6);
	put16(b + 12, ETHTYPE_IPV6);
	b[14] = 0x60;
	put16(b + 18, 20);
	b[20] = IPPROTO_TCP;
	b[21] = 64;
	put16(b + 22, 0x2001);
	put16(b + 24, 0x0db8);
	b[37] = 2;
	put16(b + 38, 0x2001);
	put16(b + 40, 0x0db8);
	b[53] = 1;
	put16(b + 54, 40000);
	put16(b + 56, 80);
	b[54 + 12] = 5 << 4;
	b[54 + 13] = TH_SYN;
	len = 54 + 20;
	label("IPv6 SYN to port 80");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4));

	/* ARP inside an 802.1Q tag. */
	memset(b, 0, sizeof(b));
	memcpy(b, MAC_BCAST, 6);
	memcpy(b + 6, MAC_C1, 6);
	put16(b + 12, ETHTYPE_VLAN);
	put16(b + 14, 5);
	put16(b + 16, ETHTYPE_ARP);
	put16(b + 18, 1);
	put16(b + 20, ETHTYPE_IP);
	b[22] = 6;
	b[23] = 4;
	put16(b + 24, 1);
	label("802.1Q-tagged ARP request");
	return expect_pass_n(SIDE_PUB, b, 46, XFWD_CNT_PASS_NOT_IPV4);
}

/* ICMP that is not an error about a flow (echo to the public address, from
 * the LAN with no masquerade) is the stack's: passed untouched. */
static int expect_icmp_pass(int side, const struct pkt_spec *s)
{
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(expect_pass(side, s, -1));
	TRY(counters_read(&b));
	if (!ASSERT_TRUE(b.c[XFWD_CNT_PASS_NOT_TCPUDP] + b.c[XFWD_CNT_PASS_NO_MATCH] ==
			 a.c[XFWD_CNT_PASS_NOT_TCPUDP] + a.c[XFWD_CNT_PASS_NO_MATCH] + 1,
			 "neither pass_not_tcp_udp nor pass_no_match counted it (counters: %s)",
			 moved(&a, &b)))
		return -1;
	return 0;
}

PROG_CASE(pass_icmp)
{
	struct pkt_spec p = pub_pkt(IPPROTO_ICMP, CLIENT1, 0x1234, PUB_ADDR, 1);
	struct pkt_spec l = lan_pkt(IPPROTO_ICMP, BACKEND1, 0x4321, CLIENT1, 1);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.payload = pattern;
	p.payload_len = 56;
	label("ICMP echo request to 192.0.2.1");
	TRY(expect_icmp_pass(SIDE_PUB, &p));
	l.payload = pattern;
	l.payload_len = 56;
	label("ICMP echo request from the LAN (no masquerade)");
	return expect_icmp_pass(SIDE_LAN, &l);
}

PROG_CASE(pass_l2_broadcast_multicast)
{
	struct pkt_spec p = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	memcpy(p.dmac, MAC_BCAST, 6);
	label("UDP to the forwarded port, broadcast MAC");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
	memcpy(p.dmac, MAC_MCAST, 6);
	label("UDP to the forwarded port, multicast MAC");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
	p.vlan = 1;
	p.vlan_tci = 9;
	label("802.1Q-tagged UDP to the forwarded port, multicast MAC");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST);
}

PROG_CASE(pass_no_route)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 81);

	TRY(rule_add(IPPROTO_TCP, 0, 81, UNROUTED, 80, 0, 1));
	label("SYN to port 81, forwarded to 203.0.113.200 (no route)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_ROUTE));
	p.tcp_flags = TH_ACK;
	label("ACK to port 81, forwarded to 203.0.113.200 (no route)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_ROUTE));
	return expect_rule_stats(1, 0, 0, 0);
}

static int no_neigh(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct xfwd_flow_key ok = fkey(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct xfwd_flow f;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	if (sh("ip neigh del 198.51.100.2 dev " IF_LAN))
		return fail("cannot delete the neighbour 198.51.100.2");
	label("SYN to port 80, backend 198.51.100.2 without neighbour entry");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_NEIGH));
	/* The connection's first packet is in its entry already: tc, which
	 * finishes it, is told so and must not count it again. */
	if (!ASSERT_EQ(R.meta_len, 4, "metadata length"))
		return -1;
	if (!ASSERT_EQ(*(uint32_t *)(R.frame - 4), XFWD_META_FINISH_NEW, "finish mark of a first packet"))
		return -1;
	if (!ASSERT_TRUE(flow_get(&ok, &f) == IN_PENDING, "no pending entry for the SYN"))
		return -1;
	if (!ASSERT_EQ(f.packets, 1, "packets of the new entry"))
		return -1;
	if (!ASSERT_EQ(f.state, XFWD_ST_SYN_SENT, "state of the new entry"))
		return -1;
	label("the SYN again (a retransmission)");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_NEIGH));
	if (!ASSERT_EQ(*(uint32_t *)(R.frame - 4), XFWD_META_FINISH, "finish mark of a later packet"))
		return -1;
	flow_get(&ok, &f);
	if (!ASSERT_EQ(f.packets, 1, "packets after the pass (tc counts it)"))
		return -1;
	label("UDP to port 53, backend 198.51.100.2 without neighbour entry");
	return expect_pass(SIDE_PUB, &u, XFWD_CNT_PASS_NO_NEIGH);
}

PROG_CASE(pass_no_neigh)
{
	int rc = no_neigh();

	if (sh("%s", neigh_setup) && !rc)
		rc = fail("cannot restore the neighbours");
	return rc;
}

/*
 * A DF packet too big for the egress: either handed to the stack untouched
 * (it sends the ICMP error) or turned into that error by XDP and sent back
 * out (XDP_TX). Either way the sender must get what RFC 1191 says.
 */
static int expect_too_big_df(const struct pkt_spec *s, uint16_t mtu)
{
	uint8_t in[PKT_MAX];
	size_t ilen = pkt_build(s, in);
	const uint8_t *o, *ip, *icmp;
	struct counters a, b;

	TRY(counters_read(&a));
	TRY(run(SIDE_PUB, in, ilen));
	TRY(counters_read(&b));
	o = R.frame;
	if (R.verdict == XDP_PASS) {
		if (!ASSERT_EQ(R.len, ilen, "frame length"))
			return -1;
		if (!ASSERT_TRUE(frame_diff(in, o, ilen) < 0, "frame changed on XDP_PASS"))
			return -1;
		return expect_moved(&a, &b, XFWD_CNT_PASS_FRAG_NEEDED, 1);
	}
	if (R.verdict != XDP_TX)
		return fail("%s: verdict: expected XDP_PASS or XDP_TX (frag-needed), got %s"
			    " (counters: %s)", pkt_label, verdict_name(R.verdict), moved(&a, &b));
	if (!ASSERT_EQ(R.len, ETH_LEN + IP4_LEN + 8 + IP4_LEN + 8, "frag-needed frame length"))
		return -1;
	if (!ASSERT_MAC(o, s->smac, "frag-needed eth dst mac (the sender's hop)"))
		return -1;
	if (!ASSERT_MAC(o + 6, s->dmac, "frag-needed eth src mac"))
		return -1;
	if (!ASSERT_EQ(get16(o + 12), ETHTYPE_IP, "frag-needed ethertype"))
		return -1;
	ip = o + ETH_LEN;
	icmp = ip + IP4_LEN;
	if (!ASSERT_EQ(ip[0], 0x45, "frag-needed ip version/ihl"))
		return -1;
	if (!ASSERT_EQ(get16(ip + 2), IP4_LEN + 8 + IP4_LEN + 8, "frag-needed ip tot_len"))
		return -1;
	if (!ASSERT_EQ(ip[9], IPPROTO_ICMP, "frag-needed ip protocol"))
		return -1;
	if (!ASSERT_TRUE(ip[8] > 1, "frag-needed ttl %u", ip[8]))
		return -1;
	if (!ASSERT_EQ(get16(ip + 6) & 0x3fff, 0, "frag-needed MF/offset"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 12), s->daddr, "frag-needed ip saddr (the public address)"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 16), s->saddr, "frag-needed ip daddr (the sender)"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(ip), "frag-needed ip checksum 0x%04x is wrong (recomputed 0x%04x)",
			 get16(ip + 10), ip_csum_compute(ip)))
		return -1;
	if (!ASSERT_EQ(icmp[0], 3, "icmp type (destination unreachable)"))
		return -1;
	if (!ASSERT_EQ(icmp[1], 4, "icmp code (fragmentation needed)"))
		return -1;
	if (!ASSERT_EQ(get16(icmp + 6), mtu, "icmp next-hop MTU"))
		return -1;
	if (!ASSERT_TRUE(fold16(sum_words(0, icmp, 8 + IP4_LEN + 8)) == 0xffff,
			 "icmp checksum 0x%04x is wrong", get16(icmp + 2)))
		return -1;
	if (!ASSERT_TRUE(!memcmp(icmp + 8, in + ETH_LEN, IP4_LEN + 8),
			 "the quote is not the sender's IP header and first 8 bytes"))
		return -1;
	return 0;
}

static int frag_needed(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80), exp;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tcp_loose(1));	/* segments of a connection picked up mid-stream */
	if (sh("ip link set dev " IF_LAN " mtu 1280"))
		return fail("cannot set the MTU of " IF_LAN);
	p.tcp_flags = TH_ACK;
	p.payload = pattern;
	p.payload_len = 1280 - 40 + 1;
	p.frag_off = 0;
	label("1281-byte packet without DF, egress MTU 1280");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_FRAG_NEEDED));
	p.frag_off = IPF_DF;
	label("1281-byte packet with DF, egress MTU 1280");
	TRY(expect_too_big_df(&p, 1280));
	p.payload_len = 1280 - 40;
	label("1280-byte packet with DF, egress MTU 1280");
	exp = xlated(&p, CLIENT1, 40000, BACKEND1, 8080, MAC_B1, MAC_LAN);
	return expect_fwd(SIDE_PUB, &p, &exp);
}

PROG_CASE(pass_frag_needed)
{
	int rc = frag_needed();

	if (sh("ip link set dev " IF_LAN " mtu 1500") && !rc)
		rc = fail("cannot restore the MTU of " IF_LAN);
	return rc;
}

PROG_CASE(pass_egress_foreign)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 82);

	TRY(rule_add(IPPROTO_TCP, 0, 82, FOREIGN, 80, 0, 1));
	label("SYN to port 82, forwarded to 203.0.113.2 via " IF_OTH);
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_EGRESS_FOREIGN);
}

static int fwd_disabled(void)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	if (sysctl_fwd(IF_PUB, 0))
		return fail("cannot disable forwarding on " IF_PUB);
	label("SYN to port 80, forwarding disabled on the public interface");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_FWD_DISABLED);
}

PROG_CASE(pass_forwarding_disabled)
{
	int rc = fwd_disabled();

	if (sysctl_fwd(IF_PUB, 1) && !rc)
		rc = fail("cannot enable forwarding on " IF_PUB " again");
	return rc;
}

/* Another tag in front of b's (QinQ: 802.1ad or a second 802.1Q). */
static size_t add_outer_tag(uint8_t *b, size_t len, uint16_t tpid)
{
	memmove(b + 16, b + 12, len - 12);
	put16(b + 12, tpid);
	put16(b + 14, 100);
	return len + 4;
}

PROG_CASE(pass_qinq)
{
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.vlan = 1;
	p.vlan_tci = 10;
	len = add_outer_tag(b, pkt_build(&p, b), 0x88a8);
	label("802.1ad + 802.1Q (QinQ) SYN to a forwarded port");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4));
	len = add_outer_tag(b, pkt_build(&p, b), ETHTYPE_VLAN);
	label("802.1Q + 802.1Q SYN to a forwarded port");
	TRY(expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4));
	p.vlan = 0;
	len = add_outer_tag(b, pkt_build(&p, b), 0x88a8);
	label("802.1ad-tagged SYN to a forwarded port");
	return expect_pass_n(SIDE_PUB, b, len, XFWD_CNT_PASS_NOT_IPV4);
}
