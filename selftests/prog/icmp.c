// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ICMP errors about flows: translated both ways (the quote too), those
 * about the gateway itself, those without a flow, hostile quotes, and
 * errors from LAN hosts other than the flow's.
 */
#include "harness.h"

PROG_CASE(icmp_error_translated)
{
	struct conn u = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7000, 53, 7000, 5353 };
	struct conn t = { IPPROTO_TCP, CLIENT2, PUB_ADDR, LAN_ADDR, BACKEND1, 47001, 80, 47001, 8080 };
	static const uint8_t opts[8] = { 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07 };
	struct pkt_spec cli, seen, outer, rep, got;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, XFWD_RULE_SNAT, 2));

	/* The backend's port unreachable about a forwarded datagram (8-byte quote). */
	label("UDP 192.0.2.2:7000 > 192.0.2.1:53");
	cli = conn_fwd_pkt(&u, 0, pattern, 40);
	seen = conn_fwd_seen(&u, &cli);
	TRY(expect_fwd(SIDE_PUB, &cli, &seen));
	TRY(conn_unreach(&u, 0, &cli, &seen, IP4_LEN + 8));

	/* The client's port unreachable about a reply, arriving on the public side. */
	label("UDP reply 198.51.100.2:5353 > 192.0.2.2:7000");
	rep = conn_rep_pkt(&u, 0, pattern, 12);
	got = conn_rep_seen(&u, &rep);
	TRY(expect_fwd(SIDE_LAN, &rep, &got));
	TRY(conn_unreach(&u, 1, &rep, &got, IP4_LEN + 8 + 12));	/* the whole reply */

	/* SNAT: the backend quotes the whole SYN it got from 198.51.100.1. */
	label("SYN 192.0.2.3:47001 > 192.0.2.1:80 (SNAT)");
	TRY(conn_fwd(&t, TH_SYN, NULL, 0));
	cli = pub_pkt(IPPROTO_TCP, CLIENT2, 47001, PUB_ADDR, 80);
	cli.tcp_opts = opts;
	cli.tcp_opts_len = sizeof(opts);
	cli.tcp_flags = TH_ACK | TH_PSH;
	cli.ack = 1;
	payload_set(&cli, 100);
	seen = xlated_to(&cli, LAN_ADDR, 47001, BACKEND1, 8080);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, LAN_ADDR, 0);
	label("backend's admin-prohibited quoting the whole SNATed segment");
	return expect_icmp_err_xlated(SIDE_LAN, &outer, PUB_ADDR, CLIENT2, 3, 13, &seen, cli, 576);
}

/* An ICMP error from the public side about what a local: target's socket
 * sent (here: frag needed on the way to the client) goes up to the stack
 * quoting the packet as that socket sent it, so the socket learns of it. */
PROG_CASE(icmp_error_local)
{
	struct pkt_spec syn = pub_pkt(IPPROTO_TCP, CLIENT1, 41234, PUB_ADDR, 2222), sent, outer;
	const uint8_t *ip, *icmp, *in;
	struct counters a, b;
	uint8_t ib[PKT_MAX];
	size_t il;

	TRY(rule_add(IPPROTO_TCP, 0, 2222, 0, 22, XFWD_RULE_LOCAL, 3));
	label("SYN 192.0.2.2:41234 > 192.0.2.1:2222 (to local:22)");
	syn.tcp_flags = TH_SYN;
	il = pkt_build(&syn, ib);
	TRY(run(SIDE_PUB, ib, il));
	if (!ASSERT_VERDICT(R.verdict, XDP_PASS))
		return -1;
	if (!ASSERT_EQ(get16(R.frame + ETH_LEN + IP4_LEN + 2), 22, "the SYN's dport, passed up"))
		return -1;
	/* The SYN-ACK as it left the gateway (tc egress translated it). */
	sent = pub_pkt(IPPROTO_TCP, PUB_ADDR, 2222, CLIENT1, 41234);
	sent.tcp_flags = TH_SYN | TH_ACK;
	payload_set(&sent, 1400);
	outer = pub_pkt(IPPROTO_ICMP, ip4(192, 0, 2, 254), 0, PUB_ADDR, 0);
	il = pkt_build_icmp_err(&outer, 3, 4, &sent, IP4_LEN + 8, ib);
	label("a router's frag needed quoting 192.0.2.1:2222 > 192.0.2.2:41234");
	TRY(run_expect(SIDE_PUB, ib, il, XDP_PASS, &a, &b));
	TRY(expect_moved(&a, &b, XFWD_CNT_LOCAL_IN, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 1));
	ip = R.frame + ETH_LEN;
	icmp = ip + IP4_LEN;
	in = icmp + 8;
	if (!ASSERT_ADDR(raw32(ip + 12), ip4(192, 0, 2, 254), "outer ip saddr (the router stays)"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 16), PUB_ADDR, "outer ip daddr"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(ip), "outer ip checksum 0x%04x is wrong", get16(ip + 10)))
		return -1;
	if (!ASSERT_TRUE(fold16(sum_words(0, icmp, get16(ip + 2) - IP4_LEN)) == 0xffff,
			 "icmp checksum 0x%04x is wrong", get16(icmp + 2)))
		return -1;
	if (!ASSERT_ADDR(raw32(in + 12), PUB_ADDR, "quoted ip saddr"))
		return -1;
	if (!ASSERT_ADDR(raw32(in + 16), CLIENT1, "quoted ip daddr"))
		return -1;
	if (!ASSERT_EQ(get16(in + IP4_LEN), 22, "quoted sport (the local socket's port)"))
		return -1;
	if (!ASSERT_EQ(get16(in + IP4_LEN + 2), 41234, "quoted dport"))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(in), "quoted ip checksum 0x%04x is wrong", get16(in + 10)))
		return -1;
	return 0;
}

PROG_CASE(icmp_error_no_flow_passes)
{
	struct pkt_spec seen = pub_pkt(IPPROTO_UDP, CLIENT1, 7002, BACKEND1, 5353);
	struct pkt_spec outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT1, 0);
	uint8_t b[PKT_MAX];
	size_t len;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	seen.ttl = 63;
	len = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, b);
	label("port unreachable quoting a datagram of no flow");
	TRY(expect_pass_n(SIDE_LAN, b, len, -1));
	len = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 4, b);
	label("port unreachable with a quote too short for the ports");
	return expect_pass_n(SIDE_LAN, b, len, -1);
}

/*
 * ICMP errors whose quote xfwd must not believe: too short at every length,
 * its ports past the end of the ICMP message (in the frame's padding), not
 * IPv4, with options, quoting ICMP, about a connection on the wrong side.
 * And one it must: an 8-byte TCP quote followed by padding, translated with
 * the padding untouched.
 */
PROG_CASE(icmp_error_hostile_quotes)
{
	struct conn u = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7100, 53, 7100, 5353 };
	struct conn t = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND1, 7101, 80, 7101, 8080 };
	struct pkt_spec cli, seen, outer;
	uint8_t ib[PKT_MAX];
	size_t il, q, l4 = ETH_LEN + IP4_LEN;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 2));
	label("UDP 192.0.2.2:7100 > 192.0.2.1:53");
	cli = conn_fwd_pkt(&u, 0, pattern, 40);
	seen = conn_fwd_seen(&u, &cli);
	TRY(expect_fwd(SIDE_PUB, &cli, &seen));
	label("SYN 192.0.2.3:7101 > 192.0.2.1:80");
	TRY(conn_fwd(&t, TH_SYN, NULL, 0));

	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT1, 0);
	/* Every quote length short of the IP header and both ports. */
	for (q = 0; q < IP4_LEN + 4; q++) {
		il = pkt_build_icmp_err(&outer, 3, 3, &seen, q, ib);
		label("port unreachable about a live flow, quote of %zu bytes", q);
		TRY(expect_pass_any(SIDE_LAN, ib, il, XFWD_CNT_PASS_MALFORMED,
				    q >= IP4_LEN ? XFWD_CNT_PASS_NOT_TCPUDP : XFWD_CNT_PASS_MALFORMED));
	}
	/* The quote cut to 22 bytes by tot_len, the rest of it left behind as
	 * padding: the destination port is not part of the message. */
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	put16(ib + ETH_LEN + 2, IP4_LEN + 8 + IP4_LEN + 2);
	put16(ib + ETH_LEN + 10, 0);
	put16(ib + ETH_LEN + 10, ip_csum_compute(ib + ETH_LEN));
	put16(ib + l4 + 2, 0);
	put16(ib + l4 + 2, (uint16_t)~fold16(sum_words(0, ib + l4, 8 + IP4_LEN + 2)));
	label("port unreachable whose quoted ports end in the padding");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_MALFORMED));
	/* A quote that is no IPv4 header of TCP/UDP. */
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	ib[l4 + 8] = 0x46;
	label("port unreachable quoting an IP header with options");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	ib[l4 + 8] = 0x65;
	label("port unreachable quoting an IPv6-versioned header");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	ib[l4 + 8] = 0x45;
	ib[l4 + 8 + 9] = IPPROTO_ICMP;
	label("port unreachable quoting ICMP");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NOT_TCPUDP));
	/* The right quote on the wrong side: the backend's error arriving on
	 * the public interface belongs to no connection there. */
	il = pkt_build_icmp_err(&outer, 3, 3, &seen, IP4_LEN + 8, ib);
	memcpy(ib, MAC_PUB, 6);
	label("the backend's port unreachable arriving on the public side");
	TRY(expect_pass_n(SIDE_PUB, ib, il, XFWD_CNT_PASS_NO_MATCH));
	/* An error about the flow, from a host that is not on its path, with
	 * the quote's addresses swapped: no connection. */
	il = pkt_build_icmp_err(&outer, 3, 3, &cli, IP4_LEN + 8, ib);
	label("port unreachable quoting the client's packet as it was before translation");
	TRY(expect_pass_n(SIDE_LAN, ib, il, XFWD_CNT_PASS_NO_MATCH));

	/* The backend's error about the SYN, 8 bytes of TCP (no checksum in
	 * the quote) and 16 bytes of zero padding after the message. */
	cli = conn_fwd_pkt(&t, TH_SYN, NULL, 0);
	seen = conn_fwd_seen(&t, &cli);
	outer = lan_pkt(IPPROTO_ICMP, BACKEND1, 0, CLIENT2, 0);
	outer.pad = 16;
	label("host unreachable quoting 8 bytes of the SYN, then padding");
	return expect_icmp_err_xlated(SIDE_LAN, &outer, PUB_ADDR, CLIENT2, 3, 1, &seen, cli, IP4_LEN + 8);
}

/* An ICMP error from the LAN about a masqueraded flow: dropped unless it
 * comes from the packet's receiver or the router towards it, and is
 * addressed to the quoted packet's sender (drop_icmp_forged). */
static int lan_error_dropped(uint32_t from, uint32_t to, const struct pkt_spec *seen)
{
	struct pkt_spec outer = lan_pkt(IPPROTO_ICMP, from, 0, to, 0);
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build_icmp_err(&outer, 3, 1, seen, IP4_LEN + 8, ib);
	struct counters a, b;

	TRY(run_expect(SIDE_LAN, ib, il, XDP_DROP, &a, &b));
	TRY(expect_moved(&a, &b, XFWD_CNT_DROP_ICMP_FORGED, 1));
	return expect_moved(&a, &b, XFWD_CNT_ICMP_ERR, 0);
}

/* From the flow's host, or the router towards it: translated, the outer
 * source the public address (RFC 5508). */
static int lan_error_translated(uint32_t from, const struct pkt_spec *seen, struct pkt_spec in)
{
	struct pkt_spec outer = lan_pkt(IPPROTO_ICMP, from, 0, CLIENT1, 0);

	return expect_icmp_err_xlated(SIDE_LAN, &outer, PUB_ADDR, CLIENT1, 3, 1, seen, in, IP4_LEN + 8);
}

PROG_CASE(icmp_error_from_lan_other)
{
	const uint32_t behind = ip4(198, 51, 100, 200);	/* a host behind router BACKEND2 */
	struct pkt_spec o1 = lan_pkt(IPPROTO_UDP, BACKEND1, 46100, CLIENT1, 53);
	struct pkt_spec o2 = lan_pkt(IPPROTO_UDP, behind, 46101, CLIENT1, 53);
	struct pkt_spec x1 = xlated_to(&o1, PUB_ADDR, 46100, CLIENT1, 53);
	struct pkt_spec x2 = xlated_to(&o2, PUB_ADDR, 46101, CLIENT1, 53);
	struct pkt_spec in1 = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 46100);
	struct pkt_spec in2 = pub_pkt(IPPROTO_UDP, CLIENT1, 53, PUB_ADDR, 46101);
	struct pkt_spec seen1 = xlated_to(&in1, CLIENT1, 53, BACKEND1, 46100);
	struct pkt_spec seen2 = xlated(&in2, CLIENT1, 53, behind, 46101, MAC_B2, MAC_LAN);
	int rc = -1;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	if (sh("ip route add 198.51.100.128/25 via 198.51.100.3 dev " IF_LAN))
		return fail("cannot add the route behind the LAN router");
	label("UDP 198.51.100.2:46100 > 192.0.2.2:53 (masqueraded)");
	if (expect_fwd(SIDE_LAN, &o1, &x1))
		goto out;
	label("UDP 198.51.100.200:46101 > 192.0.2.2:53 (masqueraded, behind 198.51.100.3)");
	if (expect_fwd(SIDE_LAN, &o2, &x2))
		goto out;
	label("198.51.100.3's host unreachable about 192.0.2.2:53 > 198.51.100.2:46100 (a neighbour's flow)");
	if (lan_error_dropped(BACKEND2, CLIENT1, &seen1))
		goto out;
	label("198.51.100.2's port unreachable about its flow, sent to 192.0.2.3 (not the quoted sender)");
	if (lan_error_dropped(BACKEND1, CLIENT2, &seen1))
		goto out;
	label("198.51.100.2's host unreachable about 198.51.100.200's flow (off its path)");
	if (lan_error_dropped(BACKEND1, CLIENT1, &seen2))
		goto out;
	label("198.51.100.2's own port unreachable about its flow");
	if (lan_error_translated(BACKEND1, &seen1, in1))
		goto out;
	label("router 198.51.100.3's host unreachable about 198.51.100.200's flow");
	if (lan_error_translated(BACKEND2, &seen2, in2))
		goto out;
	rc = 0;
out:
	if (sh("ip route del 198.51.100.128/25 via 198.51.100.3 dev " IF_LAN))
		rc = fail("cannot delete the route behind the LAN router");
	return rc;
}
