// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * An egress that takes no frames from XDP (config.tx_stack: a veth whose
 * peer runs no NAPI, a bridge): its packets go up for tc to send, as
 * without a neighbour; the other interface is still redirected to.
 */
#include "harness.h"

static int tx_stack_set(__u8 bits)
{
	struct xfwd_config c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_config), &zero, &c))
		return fail("cannot read xfwd_config: %s", strerror(errno));
	c.tx_stack = bits;
	return config_set(&c);
}

PROG_CASE(tx_stack_sent_by_tc)
{
	struct pkt_spec q = pub_pkt(IPPROTO_UDP, CLIENT1, 40000, PUB_ADDR, 53);
	struct pkt_spec a = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 40000);
	struct counters c0, c1;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(tx_stack_set(XFWD_TX_STACK_LAN));
	label("UDP to port 53, the LAN taking no frames from XDP");
	TRY(counters_read(&c0));
	TRY(expect_pass(SIDE_PUB, &q, XFWD_CNT_PASS_TX_STACK));
	TRY(counters_read(&c1));
	TRY(expect_moved(&c0, &c1, XFWD_CNT_PASS_NO_NEIGH, 1));	/* tc's path for it */
	TRY(expect_finish_mark(XFWD_META_FINISH_NEW));
	label("the backend's answer: to the public side, redirected by XDP");
	TRY(expect_xlated(SIDE_LAN, &a, PUB_ADDR, 53, CLIENT1, 40000));
	label("the next request, the LAN taking frames again");
	TRY(tx_stack_set(0));
	return expect_xlated(SIDE_PUB, &q, CLIENT1, 40000, BACKEND1, 5353);
}
