// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The leak guard in tc egress: nothing leaves the public side with a
 * masqueraded LAN source (drop_leak).
 */
#include "harness.h"

/* The frame s leaving interface ifx gets verdict want and moves drop_leak by n. */
static int expect_egress(int ifx, const struct pkt_spec *s, int want, unsigned n)
{
	uint8_t b[PKT_MAX];
	size_t len = pkt_build(s, b);

	return expect_tc_egress(ifx, b, len, want, XFWD_CNT_DROP_LEAK, n);
}

/*
 * What leaves the public interface still carrying a masqueraded source
 * (nothing translated it: the kernel's NAT table flushed, a protocol it
 * does not NAT) is dropped and counted, whatever the protocol; anything
 * else goes on, and the LAN side is not guarded.
 */
PROG_CASE(leak_guard)
{
	static const uint8_t gre[4] = { 0x00, 0x00, 0x08, 0x00 };	/* GRE, IPv4 inside */
	struct pkt_spec g = pub_pkt(47, BACKEND1, 0, CLIENT1, 0);
	struct pkt_spec u = pub_pkt(IPPROTO_UDP, BACKEND2, 40000, CLIENT1, 53);
	struct pkt_spec t = pub_pkt(132, BACKEND1, 0, CLIENT1, 0);

	g.payload = gre;
	g.payload_len = sizeof(gre);
	payload_set(&u, 32);
	payload_set(&t, 32);
	label("GRE from 198.51.100.2, no masquerade prefix");
	TRY(expect_egress(ifx_pub, &g, TC_ACT_OK, 0));
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	label("GRE from a masqueraded 198.51.100.2 leaving the public side");
	TRY(expect_egress(ifx_pub, &g, TC_ACT_SHOT, 1));
	label("UDP from a masqueraded 198.51.100.3 leaving the public side");
	TRY(expect_egress(ifx_pub, &u, TC_ACT_SHOT, 1));
	label("SCTP from a masqueraded 198.51.100.2 leaving the public side");
	TRY(expect_egress(ifx_pub, &t, TC_ACT_SHOT, 1));
	label("GRE from a masqueraded 198.51.100.2 leaving the LAN side");
	TRY(expect_egress(ifx_lan, &g, TC_ACT_OK, 0));
	g.saddr = PUB_ADDR;
	label("GRE from the public address (translated by the kernel)");
	TRY(expect_egress(ifx_pub, &g, TC_ACT_OK, 0));
	/* Only the live set counts: a prefix of the idle copy is no prefix. */
	g.saddr = BACKEND1;
	TRY(map_clear(skel->maps.xfwd_masq));
	label("GRE from 198.51.100.2 after its prefix went");
	return expect_egress(ifx_pub, &g, TC_ACT_OK, 0);
}
