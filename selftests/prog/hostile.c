// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Hostile or odd packets: bad checksums carried as they are and starting
 * nothing, broadcast and multicast destinations.
 */
#include "harness.h"

/* in's checksum at off (in the frame) was wrong by some amount; out's must
 * be wrong by exactly as much: the one's complement sums over all each
 * covers are equal. */
static uint16_t wrongness(const uint8_t *f, size_t l3, int l4)
{
	const uint8_t *ip = f + l3;

	if (!l4)
		return fold16(sum_words(0, ip, IP4_LEN));
	return fold16(l4_sum(ip, 0));
}

static int bad_csum_case(uint8_t proto, int which, uint8_t by)
{
	uint16_t pport = proto == IPPROTO_TCP ? 80 : 53, bport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct pkt_spec in = pub_pkt(proto, CLIENT1, 41000 + which, PUB_ADDR, pport), exp;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il, el, at;
	struct frame f;

	payload_set(&in, 33);
	in.tcp_flags = TH_ACK;
	if (proto == IPPROTO_TCP)
		TRY(tcp_loose(1));	/* a segment picked up mid-stream */
	/* The connection starts with a right checksum (a wrong one starts
	 * nothing: bad_checksum_starts_nothing); the next packet's error
	 * goes through as it is. */
	exp = xlated_to(&in, CLIENT1, 41000 + which, BACKEND1, bport);
	label("%s to a forwarded port, right checksums", proto == IPPROTO_TCP ? "TCP" : "UDP");
	TRY(expect_fwd(SIDE_PUB, &in, &exp));
	il = pkt_build(&in, ib);
	el = pkt_build(&exp, eb);
	frame_parse(ib, il, &f);
	at = which ? f.l3 + 10 : f.l4 + l4_csum_off(proto);
	ib[at + 1] ^= by;
	label("%s to a forwarded port, %s checksum wrong by 0x%02x", proto == IPPROTO_TCP ? "TCP" :
	      "UDP", which ? "IP header" : proto == IPPROTO_TCP ? "TCP" : "UDP", by);
	TRY(run(SIDE_PUB, ib, il));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	if (!ASSERT_EQ(R.len, el, "frame length"))
		return -1;
	/* Every other byte is the expected frame's; the checksum is as wrong. */
	for (size_t i = 0; i < el; i++)
		if (i != at && i != at + 1 && R.frame[i] != eb[i])
			return fail("%s: byte %zu (%s): expected 0x%02x, got 0x%02x", pkt_label, i,
				    frame_field(eb, el, i), eb[i], R.frame[i]);
	if (!ASSERT_EQ(wrongness(R.frame, f.l3, !which), wrongness(ib, f.l3, !which),
		       "the checksum's error (one's complement sum of all it covers)"))
		return -1;
	if (!ASSERT_TRUE(which ? !ip_csum_valid(R.frame + f.l3) : !l4_csum_valid(R.frame + f.l3),
			 "the wrong checksum came out right"))
		return -1;
	if (!ASSERT_TRUE(which ? l4_csum_valid(R.frame + f.l3) : ip_csum_valid(R.frame + f.l3),
			 "the other checksum, right on the way in, is wrong"))
		return -1;
	return 0;
}

/* A packet to a forwarded port with a wrong checksum is forwarded as it is:
 * the incremental update keeps it exactly as wrong as it came (the receiver
 * drops it, as it would have without us), never "fixed". */
PROG_CASE(bad_checksums_forwarded)
{
	static const uint8_t by[] = { 0x01, 0x80, 0xff };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	for (unsigned i = 0; i < sizeof(by); i++) {
		TRY(bad_csum_case(IPPROTO_TCP, 0, by[i]));
		TRY(bad_csum_case(IPPROTO_UDP, 0, by[i]));
		TRY(bad_csum_case(IPPROTO_TCP, 1, by[i]));
		TRY(bad_csum_case(IPPROTO_UDP, 1, by[i]));
	}
	return 0;
}

/*
 * IP broadcast and multicast destinations. In an L2 broadcast or multicast
 * frame they are the stack's (which never forwards those); in a unicast
 * frame to a forwarded port they are what iptables' PREROUTING DNAT does
 * with them too: translated (the rule matches any destination address).
 */
PROG_CASE(ip_broadcast_multicast_dst)
{
	static const uint32_t dsts[] = { 0xffffffff, 0xe00000fb, 0xc00002ff };	/* host order */
	struct pkt_spec p;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	for (unsigned i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		p = pub_pkt(IPPROTO_UDP, CLIENT1, (uint16_t)(42000 + i), htonl(dsts[i]), 54);
		label("UDP to %s:54 (no rule)", astr(htonl(dsts[i])));
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_NO_MATCH));
		p.dport = 53;
		memcpy(p.dmac, i ? MAC_MCAST : MAC_BCAST, 6);
		label("UDP to %s:53 in a %s frame", astr(htonl(dsts[i])), i ? "multicast" : "broadcast");
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_PASS_L2_MULTICAST));
		memcpy(p.dmac, MAC_PUB, 6);
		label("UDP to %s:53 in a unicast frame", astr(htonl(dsts[i])));
		TRY(expect_xlated(SIDE_PUB, &p, CLIENT1, p.sport, BACKEND1, 5353));
	}
	return 0;
}

/* A packet that would start a connection with a wrong TCP or UDP checksum
 * starts nothing and is dropped (conntrack's nf_conntrack_checksum): a LAN
 * host cannot reserve a port with a SYN the server never sees. */
PROG_CASE(bad_checksum_starts_nothing)
{
	static const uint16_t lens[] = { 0, 1, 33, 511, 512, 513, 1400 };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (int t = 0; t < 3; t++) {
			uint8_t proto = t == 1 ? IPPROTO_UDP : IPPROTO_TCP;
			int side = t == 2 ? SIDE_LAN : SIDE_PUB;
			struct pkt_spec in = t == 2 ?
				lan_pkt(proto, BACKEND1, 45000 + i, CLIENT1, 443) :
				pub_pkt(proto, CLIENT1, 45000 + i, PUB_ADDR, t ? 53 : 80);
			uint8_t ib[PKT_MAX];
			size_t il;
			struct frame f;

			payload_set(&in, lens[i]);
			in.frag_off = 0;
			il = pkt_build(&in, ib);
			frame_parse(ib, il, &f);
			ib[f.l4 + l4_csum_off(proto) + 1] ^= 0x20;
			label("%s %s, %u payload bytes, checksum wrong", t == 2 ? "masqueraded" : "to a forwarded port",
			      proto == IPPROTO_TCP ? "SYN" : "UDP", lens[i]);
			TRY(expect_drop_n(side, ib, il, XFWD_CNT_DROP_BAD_CSUM));
			label("the same with the checksum right");
			if (t == 2)
				TRY(expect_xlated(side, &in, PUB_ADDR, 45000 + i, CLIENT1, 443));
			else
				TRY(expect_xlated(side, &in, CLIENT1, 45000 + i, BACKEND1, t ? 5353 : 8080));
		}
	}
	return 0;
}
