// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DNAT: a rule's packets rewritten to the backend (TCP, UDP, checksums
 * none/0xffff, padding, 802.1Q), the replies back, the exact rule over the
 * wildcard, and what is not a flow's (LAN without a flow, the wrong side).
 */
#include "harness.h"

PROG_CASE(tcp_dnat_syn)
{
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN 192.0.2.2:40000 > 192.0.2.1:80");
	return expect_xlated(SIDE_PUB, &in, CLIENT1, 40000, BACKEND1, 8080);
}

PROG_CASE(tcp_dnat_options_payload)
{
	/* MSS 1460, SACK permitted, timestamps, NOP, window scale 7: 20 bytes. */
	static const uint8_t opts[20] = {
		0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x01, 0x02,
		0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
	};
	static const uint8_t nop_ts[12] = {
		0x01, 0x01, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	};
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40001, PUB_ADDR, 80);
	size_t lens[] = { 333, 1, 1400 };
	unsigned i;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	in.tcp_opts = opts;
	in.tcp_opts_len = sizeof(opts);
	in.tos = 0x28;
	in.frag_off = 0;
	label("SYN with options 192.0.2.2:40001 > 192.0.2.1:80");
	TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 40001, BACKEND1, 8080));
	label("SYN/ACK from the backend");
	{
		struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40001, 80,
				  40001, 8080 };

		TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	}
	in.seq += 1;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		in.tcp_flags = TH_PSH | TH_ACK;
		in.ack = 0x50607081;
		if (i)
			in.seq += lens[i - 1];
		in.tcp_opts = nop_ts;
		in.tcp_opts_len = sizeof(nop_ts);
		payload_set(&in, lens[i]);
		in.ip_id++;
		label("PSH/ACK with timestamps and %zu payload bytes", lens[i]);
		TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 40001, BACKEND1, 8080));
	}
	return 0;
}

PROG_CASE(udp_dnat)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33333, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	payload_set(&in, 37);
	label("UDP 192.0.2.2:33333 > 192.0.2.1:53, 37 bytes");
	TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 33333, BACKEND1, 5353));
	in.payload_len = 0;
	in.ip_id++;
	label("UDP 192.0.2.2:33333 > 192.0.2.1:53, empty");
	return expect_xlated(SIDE_PUB, &in, CLIENT1, 33333, BACKEND1, 5353);
}

PROG_CASE(udp_no_checksum_stays_zero)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33334, PUB_ADDR, 53);
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 33334, 53, 33334, 5353 };
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 33334);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	payload_set(&in, 20);
	in.udp_no_csum = 1;
	label("UDP without checksum 192.0.2.2:33334 > 192.0.2.1:53");
	TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 33334, BACKEND1, 5353));
	rep.udp_no_csum = 1;
	payload_set(&rep, 9);
	label("UDP reply without checksum 198.51.100.2:5353 > 192.0.2.2:33334");
	return expect_xlated(SIDE_LAN, &rep, c.pub, c.pport, c.client, c.cport);
}

/*
 * A datagram whose checksum, correctly updated, is 0x0000 must leave with
 * 0xffff (0 would mean "no checksum", RFC 768). Two payload bytes are chosen
 * so that the translated datagram sums to 0xffff without its checksum.
 */
PROG_CASE(udp_checksum_zero_is_ffff)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33335, PUB_ADDR, 53), exp;
	uint8_t payload[24], ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el;
	struct frame f;
	uint16_t s;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	memcpy(payload, pattern, sizeof(payload));
	payload[0] = payload[1] = 0;
	in.payload = payload;
	in.payload_len = sizeof(payload);
	exp = xlated_to(&in, CLIENT1, 33335, BACKEND1, 5353);
	el = pkt_build(&exp, eb);
	frame_parse(eb, el, &f);
	s = fold16(l4_sum(eb + f.l3, 1));
	put16(payload, (uint16_t)(0xffff - s));
	el = pkt_build(&exp, eb);
	il = pkt_build(&in, ib);
	label("UDP crafted to translate to checksum 0");
	if (!ASSERT_EQ(get16(eb + f.l4 + 6), 0xffff, "crafted expectation (test bug)"))
		return -1;
	if (!ASSERT_NE(get16(ib + f.l4 + 6), 0xffff, "input checksum (test bug: nothing to update)"))
		return -1;
	TRY(expect_fwd_n(SIDE_PUB, ib, il, eb, el));
	if (!ASSERT_EQ(get16(R.frame + f.l4 + 6), 0xffff, "udp checksum (a computed 0 is sent as 0xffff)"))
		return -1;
	return 0;
}

/* Ethernet padding after a short IP packet is not part of it. */
PROG_CASE(udp_ethernet_padding)
{
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 33336, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	payload_set(&in, 4);
	in.pad = 14;		/* a 60-byte minimum frame */
	label("UDP, 4 bytes of data, padded to 60 bytes");
	return expect_xlated(SIDE_PUB, &in, CLIENT1, 33336, BACKEND1, 5353);
}

PROG_CASE(reply_dnat_tcp)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40000, 80, 40000, 8080 };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN 192.0.2.2:40000 > 192.0.2.1:80");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("SYN/ACK 198.51.100.2:8080 > 192.0.2.2:40000");
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	label("reply with 700 bytes 198.51.100.2:8080 > 192.0.2.2:40000");
	return conn_rep(&c, TH_ACK | TH_PSH, pattern, 700);
}

PROG_CASE(reply_dnat_udp)
{
	struct conn c = { IPPROTO_UDP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 5000, 53, 5000, 5353 };

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND2, 5353, 0, 1));
	label("UDP 192.0.2.3:5000 > 192.0.2.1:53");
	TRY(conn_fwd(&c, 0, pattern, 30));
	label("UDP reply 198.51.100.3:5353 > 192.0.2.3:5000");
	return conn_rep(&c, 0, pattern + 7, 123);
}

PROG_CASE(lan_no_flow_passes)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 40000, 80, 40000, 8080 };
	struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 40000);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	p.tcp_flags = TH_SYN | TH_ACK;
	label("LAN SYN/ACK 198.51.100.2:8080 > 192.0.2.2:40000, no flow");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	label("SYN 192.0.2.2:40000 > 192.0.2.1:80");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	p.dport = 40001;
	label("LAN 198.51.100.2:8080 > 192.0.2.2:40001, another port");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	p = lan_pkt(IPPROTO_UDP, BACKEND1, 8080, CLIENT1, 40000);
	label("LAN UDP 198.51.100.2:8080 > 192.0.2.2:40000, the TCP flow's ports");
	return expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* A flow's packets count only on the side they belong to. */
PROG_CASE(wrong_side_passes)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR2, CLIENT1, BACKEND1, 6000, 53, 6000, 5353 };
	struct conn h = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 6001, 53, 6001, 5353 };
	struct xfwd_flow_key ok = conn_okey(&h);
	struct pkt_spec p;
	struct xfwd_flow e;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("UDP 192.0.2.2:6000 > 192.0.2.10:53");
	TRY(conn_fwd(&c, 0, pattern, 5));
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 6000, PUB_ADDR2, 53);
	memcpy(p.dmac, MAC_LAN, 6);
	label("the client's packet (to 192.0.2.10:53) arriving on the LAN side");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	p = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 6000);
	memcpy(p.dmac, MAC_PUB, 6);
	label("the backend's reply arriving on the public side");
	TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));

	/*
	 * To the gateway's own public address a LAN packet may start a hairpin
	 * flow; with the very tuple of a public client's live flow it cannot,
	 * and must not be sent on with that flow's translation either.
	 */
	label("UDP 192.0.2.2:6001 > 192.0.2.1:53");
	TRY(conn_fwd(&h, 0, pattern, 5));
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 6001, PUB_ADDR, 53);
	memcpy(p.dmac, MAC_LAN, 6);
	label("a LAN packet with the tuple of the public flow 192.0.2.2:6001 > 192.0.2.1:53");
	TRY(expect_pass(SIDE_LAN, &p, -1));
	if (!ASSERT_TRUE(flow_get(&ok, &e) != IN_NONE, "the public flow is gone"))
		return -1;
	if (!ASSERT_EQ(e.packets, 1, "packets of the public flow's original entry"))
		return -1;
	return 0;
}

PROG_CASE(rule_exact_over_wildcard)
{
	struct conn exact = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 41000, 80, 41000, 8080 };
	struct conn wild = { IPPROTO_TCP, CLIENT2, PUB_ADDR2, CLIENT2, BACKEND2, 41001, 80, 41001, 9090 };
	struct pkt_spec p;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND2, 9090, 0, 4));
	TRY(rule_add(IPPROTO_TCP, PUB_ADDR, 80, BACKEND1, 8080, 0, 3));
	label("SYN to 192.0.2.1:80 (exact rule and wildcard rule)");
	TRY(conn_fwd(&exact, TH_SYN, NULL, 0));
	label("SYN to 192.0.2.10:80 (wildcard rule only)");
	TRY(conn_fwd(&wild, TH_SYN, NULL, 0));
	label("rule counters");
	TRY(expect_rule_stats(3, 1, 40, 1));
	TRY(expect_rule_stats(4, 1, 40, 1));

	/* Without the wildcard, other addresses are not forwarded. */
	TRY(map_clear(skel->maps.xfwd_rules));
	TRY(rule_add(IPPROTO_TCP, PUB_ADDR, 81, BACKEND1, 8081, 0, 3));
	p = pub_pkt(IPPROTO_TCP, CLIENT1, 41002, PUB_ADDR2, 81);
	label("SYN to 192.0.2.10:81, only 192.0.2.1:81 forwarded");
	return expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH);
}

PROG_CASE(vlan_tag_removed)
{
	struct pkt_spec in = pub_pkt(IPPROTO_TCP, CLIENT1, 40000, PUB_ADDR, 80);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	in.vlan = 1;
	in.vlan_tci = 0x600a;	/* priority 3, VLAN 10 */
	label("802.1Q (VLAN 10) SYN to port 80");
	TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 40000, BACKEND1, 8080));
	in.tcp_flags = TH_ACK | TH_PSH;
	payload_set(&in, 501);
	label("802.1Q (VLAN 10) data to port 80");
	TRY(expect_xlated(SIDE_PUB, &in, CLIENT1, 40000, BACKEND1, 8080));
	u.vlan = 1;
	u.vlan_tci = 4094;
	payload_set(&u, 3);
	label("802.1Q (VLAN 4094) UDP to port 53");
	return expect_xlated(SIDE_PUB, &u, CLIENT1, 40000, BACKEND1, 5353);
}
