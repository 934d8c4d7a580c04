// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Masquerade corners: echo replies, a first packet too big, address- and
 * port-dependent filtering, hairpin to one's own mapping.
 */
#include "harness.h"

/* An echo reply from a masqueraded host that answers no request of ours
 * starts nothing: untouched to the stack (it used to leave masqueraded with
 * its ICMP checksum broken; found by selftests/fuzz). */
PROG_CASE(masq_echo_reply_starts_nothing)
{
	struct pkt_spec r = lan_pkt(IPPROTO_ICMP, BACKEND1, 0x4321, CLIENT1, 7), q;
	uint8_t b[PKT_MAX];
	size_t len, l4 = ETH_LEN + IP4_LEN;
	int nf, np;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	payload_set(&r, 32);
	len = pkt_build(&r, b);
	b[l4] = 0;	/* echo reply */
	put16(b + l4 + 2, 0);
	put16(b + l4 + 2, (uint16_t)~fold16(sum_words(0, b + l4, len - l4)));
	label("unsolicited echo reply from a masqueraded host");
	TRY(expect_pass_n(SIDE_LAN, b, len, XFWD_CNT_PASS_NO_MATCH));
	flows_count(&nf, &np);
	if (!ASSERT_EQ(nf + np, 0, "flow entries"))
		return -1;
	/* The control: its echo request is masqueraded. */
	q = r;
	q.ip_id++;
	len = pkt_build(&q, b);
	label("echo request from the same host");
	TRY(run(SIDE_LAN, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	if (!ASSERT_ADDR(raw32(R.frame + ETH_LEN + 12), PUB_ADDR, "ip saddr"))
		return -1;
	if (!ASSERT_TRUE(fold16(sum_words(0, R.frame + l4, R.len - l4)) == 0xffff,
			 "icmp checksum 0x%04x is wrong", get16(R.frame + l4 + 2)))
		return -1;
	/* Identifier 0: a request and a reply of one host have one key. The
	 * reply may use the request's entry; its checksum must stay right
	 * (it used to take the request's identifier change; found by
	 * selftests/fuzz). */
	q.sport = 0;
	len = pkt_build(&q, b);
	label("echo request with identifier 0");
	TRY(run(SIDE_LAN, b, len));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	b[l4] = 0;
	put16(b + l4 + 2, 0);
	put16(b + l4 + 2, (uint16_t)~fold16(sum_words(0, b + l4, len - l4)));
	label("echo reply with identifier 0 from the same host");
	TRY(run(SIDE_LAN, b, len));
	if (R.verdict == XDP_PASS)
		return ASSERT_TRUE(R.len == len && frame_diff(b, R.frame, len) < 0,
				   "passed changed") ? 0 : -1;
	return ASSERT_TRUE(fold16(sum_words(0, R.frame + l4, R.len - l4)) == 0xffff,
			   "%s: icmp checksum 0x%04x is wrong", verdict_name(R.verdict),
			   get16(R.frame + l4 + 2)) ? 0 : -1;
}

/*
 * A masqueraded host's first packet, too big for the public link: the
 * connection is made all the same (the FIB names no egress for a packet too
 * big; it used to go to the kernel untranslated and leave with the LAN
 * address; found by selftests/fuzz). Without DF it goes up with the mark
 * for tc to finish; with DF the sender gets a frag-needed from the gateway.
 */
PROG_CASE(masq_first_packet_too_big)
{
	struct pkt_spec p = lan_pkt(IPPROTO_UDP, BACKEND1, 5555, CLIENT1, 53);
	struct xfwd_flow_key k = fkey(IPPROTO_UDP, BACKEND1, 5555, CLIENT1, 53);
	const uint8_t *ip, *icmp;
	struct xfwd_flow f;
	uint8_t b[PKT_MAX];
	size_t len;
	int rc = -1;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	if (sh("ip link set dev " IF_PUB " mtu 1280")) {
		fail("cannot set the MTU of " IF_PUB);
		goto out;
	}
	payload_set(&p, 1281 - IP4_LEN - UDP_LEN);
	p.frag_off = 0;
	label("first UDP packet of a masqueraded host, 1281 bytes, public MTU 1280");
	if (expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_FRAG_NEEDED))
		goto out;
	if (expect_finish_mark(XFWD_META_FINISH_NEW))
		goto out;
	if (!ASSERT_TRUE(flow_get(&k, &f) != IN_NONE, "no flow for %s", keystr(&k)))
		goto out;
	if (!ASSERT_ADDR(f.new_saddr, PUB_ADDR, "the flow's new source"))
		goto out;

	p.sport = 5556;
	p.frag_off = IPF_DF;
	len = pkt_build(&p, b);
	label("the same with DF");
	if (run(SIDE_LAN, b, len))
		goto out;
	if (!ASSERT_VERDICT(R.verdict, XDP_TX))
		goto out;
	ip = R.frame + ETH_LEN;
	icmp = ip + IP4_LEN;
	if (!ASSERT_ADDR(raw32(ip + 12), LAN_ADDR, "frag-needed ip saddr (the gateway's LAN address)"))
		goto out;
	if (!ASSERT_ADDR(raw32(ip + 16), BACKEND1, "frag-needed ip daddr (the sender)"))
		goto out;
	if (!ASSERT_TRUE(ip_csum_valid(ip), "frag-needed ip checksum is wrong"))
		goto out;
	if (!ASSERT_EQ(icmp[0] << 8 | icmp[1], 3 << 8 | 4, "icmp type/code (fragmentation needed)"))
		goto out;
	if (!ASSERT_EQ(get16(icmp + 6), 1280, "icmp next-hop MTU"))
		goto out;
	if (!ASSERT_TRUE(!memcmp(icmp + 8, b + ETH_LEN, IP4_LEN + 8), "the quote is not what was sent"))
		goto out;
	k.sport = htons(5556);
	if (!ASSERT_TRUE(flow_get(&k, &f) != IN_NONE, "no flow for %s", keystr(&k)))
		goto out;
	rc = 0;
out:
	if (sh("ip link set dev " IF_PUB " mtu 1500"))
		rc = fail("cannot restore the MTU of " IF_PUB);
	return rc;
}

/* adf filtering lets in the addresses a mapping sent to, on any port, and
 * nobody else: not 0.0.0.0, which only an empty slot held (found by
 * selftests/fuzz). */
PROG_CASE(masq_adf_filtering)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, BACKEND1, 46000, CLIENT1, 53), in;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_ADF, 0));
	label("UDP 198.51.100.2:46000 > 192.0.2.2:53 (masqueraded, adf)");
	TRY(expect_xlated(SIDE_LAN, &o, PUB_ADDR, 46000, CLIENT1, 53));
	in = pub_pkt(IPPROTO_UDP, 0, 999, PUB_ADDR, 46000);
	label("UDP from 0.0.0.0:999 to the mapping");
	TRY(expect_pass(SIDE_PUB, &in, XFWD_CNT_PASS_NO_MATCH));
	in = pub_pkt(IPPROTO_UDP, CLIENT2, 999, PUB_ADDR, 46000);
	label("UDP from 192.0.2.3:999 (never contacted) to the mapping");
	TRY(expect_pass(SIDE_PUB, &in, XFWD_CNT_PASS_NO_MATCH));
	in = pub_pkt(IPPROTO_UDP, CLIENT1, 999, PUB_ADDR, 46000);
	label("UDP from 192.0.2.2:999 (contacted, another port) to the mapping");
	return expect_xlated(SIDE_PUB, &in, CLIENT1, 999, BACKEND1, 46000);
}

/* A masqueraded host to its own mapping (a STUN client's hairpin test):
 * back to it from the public address on another port than the mapping's
 * (that one would make the reply tuple the original tuple); the answer goes
 * back the same way, and the mapping still serves the outside. */
PROG_CASE(masq_self_hairpin)
{
	struct pkt_spec o = lan_pkt(IPPROTO_UDP, BACKEND1, 46200, CLIENT1, 53), h, in;
	struct pkt_spec x = xlated_to(&o, PUB_ADDR, 46200, CLIENT1, 53);
	uint8_t ib[PKT_MAX];
	const uint8_t *ip;
	uint16_t y;
	size_t il;

	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_EIF, 0));
	label("UDP 198.51.100.2:46200 > 192.0.2.2:53 (masqueraded, eif)");
	TRY(expect_fwd(SIDE_LAN, &o, &x));
	h = lan_pkt(IPPROTO_UDP, BACKEND1, 46200, PUB_ADDR, 46200);
	payload_set(&h, 33);
	label("UDP 198.51.100.2:46200 > 192.0.2.1:46200 (its own mapping)");
	il = pkt_build(&h, ib);
	TRY(run(SIDE_LAN, ib, il));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	ip = R.frame + ETH_LEN;
	y = get16(ip + IP4_LEN);
	if (!ASSERT_ADDR(raw32(ip + 12), PUB_ADDR, "ip saddr"))
		return -1;
	if (!ASSERT_ADDR(raw32(ip + 16), BACKEND1, "ip daddr"))
		return -1;
	if (!ASSERT_TRUE(y != 46200 && y >= XFWD_SNAT_PORT_MIN, "sport %u: the mapping's own, or out of range", y))
		return -1;
	if (!ASSERT_EQ(get16(ip + IP4_LEN + 2), 46200, "dport"))
		return -1;
	TRY(expect_csums_valid(ip));
	label("its answer, 198.51.100.2:46200 > 192.0.2.1:%u", y);
	in = lan_pkt(IPPROTO_UDP, BACKEND1, 46200, PUB_ADDR, y);
	TRY(expect_xlated(SIDE_LAN, &in, PUB_ADDR, 46200, BACKEND1, 46200));
	label("192.0.2.3:999 > 192.0.2.1:46200: the mapping, as it was");
	in = pub_pkt(IPPROTO_UDP, CLIENT2, 999, PUB_ADDR, 46200);
	return expect_xlated(SIDE_PUB, &in, CLIENT2, 999, BACKEND1, 46200);
}
