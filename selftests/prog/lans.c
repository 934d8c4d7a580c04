// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Two LAN interfaces (IF_OTH attached as the second, 203.0.113.1): a rule
 * forwards to a backend behind either, --snat takes the address of the LAN
 * the connection leaves by, and a LAN host reaching a backend on the other
 * LAN through the public address is DNATed alone (its answer comes back
 * through us), while a hairpin within one LAN is SNATed as before.
 */
#include "harness.h"

#define OTH_ADDR	ip4(203, 0, 113, 1)	/* the gateway's address on IF_OTH */

/* IF_OTH attached in slot 2, as `attach xf-pub xf-lan xf-oth` makes it. */
static int second_lan_attach(void)
{
	struct xfwd_config c;

	TRY(config_get(&c));
	c.nr_ifs = 3;
	c.ifindex[2] = (__u32)ifx_oth;
	c.addr[2] = OTH_ADDR;
	snprintf(c.ifname[2], sizeof(c.ifname[2]), "%s", IF_OTH);
	TRY(config_set(&c));
	if (iface_slot_set(ifx_oth, 2))
		return fail("cannot attach %s in slot 2: %s", IF_OTH, strerror(errno));
	return 0;
}

PROG_CASE(second_lan_forward)
{
	struct pkt_spec q = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct pkt_spec a = lan_pkt(IPPROTO_UDP, FOREIGN, 5353, CLIENT1, 40000);

	TRY(rule_add(IPPROTO_UDP, 0, 53, FOREIGN, 5353, 0, 1));
	label("to a backend behind an interface xfwd was not attached to");
	TRY(expect_pass(SIDE_PUB, &q, XFWD_CNT_PASS_EGRESS_FOREIGN));
	TRY(second_lan_attach());
	label("the same, that interface a second LAN");
	TRY(expect_xlated(SIDE_PUB, &q, CLIENT1, 40000, FOREIGN, 5353));
	label("the backend's answer, arriving on the second LAN");
	return expect_xlated(SIDE_OTH, &a, PUB_ADDR, 53, CLIENT1, 40000);
}

PROG_CASE(second_lan_snat_source)
{
	struct pkt_spec q = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct pkt_spec a = lan_pkt(IPPROTO_UDP, FOREIGN, 5353, OTH_ADDR, 40000);

	TRY(second_lan_attach());
	TRY(rule_add(IPPROTO_UDP, 0, 53, FOREIGN, 5353, XFWD_RULE_SNAT, 1));
	label("--snat to a backend on the second LAN: its address, not the first LAN's");
	TRY(expect_xlated(SIDE_PUB, &q, OTH_ADDR, 40000, FOREIGN, 5353));
	label("the backend's answer to that address");
	return expect_xlated(SIDE_OTH, &a, PUB_ADDR, 53, CLIENT1, 40000);
}

PROG_CASE(hairpin_between_lans)
{
	struct pkt_spec q = lan_pkt(IPPROTO_UDP, BACKEND2, 40000, PUB_ADDR, 53);
	struct pkt_spec a = lan_pkt(IPPROTO_UDP, FOREIGN, 5353, BACKEND2, 40000);
	struct pkt_spec same = lan_pkt(IPPROTO_UDP, BACKEND2, 40001, PUB_ADDR, 54);
	struct counters c0, c1;

	TRY(second_lan_attach());
	TRY(rule_add(IPPROTO_UDP, 0, 53, FOREIGN, 5353, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 54, BACKEND1, 5353, 0, 2));
	label("a host of the first LAN to the public port of a backend on the second");
	TRY(counters_read(&c0));
	TRY(expect_xlated(SIDE_LAN, &q, BACKEND2, 40000, FOREIGN, 5353));
	TRY(counters_read(&c1));
	TRY(expect_moved(&c0, &c1, XFWD_CNT_HAIRPIN, 1));
	label("the backend's answer to the host itself, arriving on the second LAN");
	TRY(expect_xlated(SIDE_OTH, &a, PUB_ADDR, 53, BACKEND2, 40000));
	label("to a backend on its own LAN: SNATed to the gateway, as before");
	return expect_xlated(SIDE_LAN, &same, LAN_ADDR, 40001, BACKEND1, 5353);
}
