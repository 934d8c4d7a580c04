// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The counters and the per-rule statistics over a few connections.
 */
#include "harness.h"

/* A counter and how much a step moved it. */
struct moved_by {
	unsigned idx;
	unsigned long long n;
};

/* One packet received, what it moved (n of 0 ends the list) added to exp;
 * then every counter must be as exp says. */
static int expect_step(unsigned long long exp[XFWD_CNT_MAX], const struct moved_by *m)
{
	exp[XFWD_CNT_RX]++;
	for (; m->n; m++)
		exp[m->idx] += m->n;
	return expect_counters(exp);
}

#define MOVED(...) ((const struct moved_by[]){ __VA_ARGS__, { 0, 0 } })

PROG_CASE(counters)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7000, 53, 7000, 5353 };
	struct pkt_spec frag = pub_pkt(IPPROTO_UDP, CLIENT1, 7000, PUB_ADDR, 53);
	struct pkt_spec none = pub_pkt(IPPROTO_UDP, CLIENT1, 7000, PUB_ADDR, 54);
	unsigned long long exp[XFWD_CNT_MAX] = { 0 };
	const __u64 fwd_len = 20 + 8 + 100, rep_len = 20 + 8 + 300;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 5));
	TRY(rule_add(IPPROTO_UDP, 0, 55, BACKEND2, 5355, 0, 6));
	label("start");
	TRY(expect_counters(exp));

	frag.frag_off = 185;
	label("UDP later fragment to port 53, its first not seen");
	TRY(expect_pass(SIDE_PUB, &frag, XFWD_CNT_PASS_FRAG_UNKNOWN));
	TRY(expect_step(exp, MOVED({ XFWD_CNT_PASS_FRAG_UNKNOWN, 1 })));
	TRY(expect_rule_stats(5, 0, 0, 0));

	label("UDP to port 54 (no rule)");
	TRY(expect_pass(SIDE_PUB, &none, XFWD_CNT_PASS_NO_MATCH));
	TRY(expect_step(exp, MOVED({ XFWD_CNT_PASS_NO_MATCH, 1 })));

	label("first UDP packet to port 53");
	TRY(conn_fwd(&c, 0, pattern, 100));
	TRY(expect_step(exp, MOVED({ XFWD_CNT_FWD_REDIRECT, 1 }, { XFWD_CNT_FLOW_NEW, 1 },
				   { XFWD_CNT_PENDING_ADD, 2 })));	/* both entries */
	TRY(expect_rule_stats(5, 1, fwd_len, 1));

	label("second UDP packet to port 53");
	TRY(conn_fwd(&c, 0, pattern, 100));
	TRY(expect_step(exp, MOVED({ XFWD_CNT_FWD_REDIRECT, 1 })));
	TRY(expect_rule_stats(5, 2, 2 * fwd_len, 1));

	label("first reply (confirms the flow)");
	TRY(conn_rep(&c, 0, pattern, 300));
	TRY(expect_step(exp, MOVED({ XFWD_CNT_FWD_REDIRECT, 1 }, { XFWD_CNT_FLOW_PROMOTED, 1 },
				   { XFWD_CNT_CONFIRMED_ADD, 2 }, { XFWD_CNT_PENDING_DEL, 2 })));
	TRY(expect_rule_stats(5, 3, 2 * fwd_len + rep_len, 1));
	TRY(expect_rule_stats(6, 0, 0, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));

	label("flow packet and byte counts");
	{
		struct xfwd_flow_key ok = conn_okey(&c), rk = conn_rkey(&c);
		struct xfwd_flow o, r;

		flow_get(&ok, &o);
		flow_get(&rk, &r);
		if (!ASSERT_EQ(o.packets, 2, "original entry packets"))
			return -1;
		if (!ASSERT_EQ(o.bytes, 2 * fwd_len, "original entry bytes"))
			return -1;
		if (!ASSERT_EQ(r.packets, 1, "reply entry packets"))
			return -1;
		if (!ASSERT_EQ(r.bytes, rep_len, "reply entry bytes"))
			return -1;
	}
	return 0;
}
