// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The fast path (per-CPU slots of established flows) and the hint of
 * which table a flow is in.
 */
#include "harness.h"

/* What key's slots counted, all CPUs, and not yet added to its entry. */
static __u64 fast_pending(const struct xfwd_flow_key *k, __u64 *bytes)
{
	static struct xfwd_fast v[256];
	__u32 i = xfwd_fast_slot(k);
	__u64 n = 0;

	*bytes = 0;
	if (ncpus > 256 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_fast), &i, v))
		return 0;
	for (int c = 0; c < ncpus; c++)
		if (!memcmp(&v[c].key, k, sizeof(*k))) {
			n += v[c].packets;
			*bytes += v[c].bytes;
		}
	return n;
}

/* A confirmed UDP flow: its packets leave from the slot, translated as the
 * slow path translates them; what the slot counted reaches the entry when
 * the slot's time is up; the rule's counters are exact all along. */
PROG_CASE(fast_path_udp)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7300, 53, 7300, 5353 };
	struct xfwd_flow_key ok = conn_okey(&c);
	const __u64 len = 20 + 8 + 40;
	struct xfwd_flow o;
	__u64 pk, by;

	TRY(fast_on());
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("new, answered, then assured: each changes the connection");
	TRY(conn_assure(&c, 40));
	label("the first packet that changes nothing fills the slot");
	TRY(fwd_via(&c, 0, 40, 0));
	label("the next ones are served from it");
	for (int i = 0; i < 3; i++)
		TRY(fwd_via(&c, 0, 40, 1));
	TRY(expect_entry_packets(&ok, IN_FLOWS, 3, "original entry", &o));
	if (!ASSERT_EQ(fast_pending(&ok, &by), 3, "packets in the slot"))
		return -1;
	if (!ASSERT_EQ(by, 3 * len, "bytes in the slot"))
		return -1;
	TRY(expect_rule_stats(1, 7, 7 * len, 1));
	label("a packet longer than the route was checked for takes the slow path");
	TRY(fwd_via(&c, 0, 400, 0));
	TRY(fwd_via(&c, 0, 40, 1));
	label("the slot's time is up: the slow path adds its count to the entry");
	skel->bss->xfwd_clock_offset_ns = XFWD_FAST_NS + 1000000;
	TRY(fwd_via(&c, 0, 40, 0));
	flow_get(&ok, &o);
	pk = fast_pending(&ok, &by);
	if (!ASSERT_EQ(o.packets + pk, 9, "packets in the entry and the slot"))
		return -1;
	if (!ASSERT_EQ(o.packets, 9, "packets in the entry once flushed"))
		return -1;
	if (!ASSERT_EQ(o.bytes, 8 * len + 20 + 8 + 400, "bytes in the entry once flushed"))
		return -1;
	TRY(fwd_via(&c, 0, 40, 1));
	label("the loader changed something (config.fast_gen)");
	{
		struct xfwd_config cfg;

		TRY(config_get(&cfg));
		cfg.fast_gen++;
		TRY(config_set(&cfg));
	}
	TRY(fwd_via(&c, 0, 40, 0));
	TRY(fwd_via(&c, 0, 40, 1));
	label("a neighbour changed");
	skel->bss->xfwd_neigh_gen++;
	TRY(fwd_via(&c, 0, 40, 0));	/* the FIB again, and the slot refilled */
	return fwd_via(&c, 0, 40, 1);
}

/* A state change made by the other direction drops the copy: the ACK after
 * the backend's FIN moves the connection to CLOSE_WAIT, which a copy of the
 * ESTABLISHED entry would not. */
PROG_CASE(fast_path_state_change)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 41600, 80, 41600, 8080 };

	TRY(fast_on());
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	TRY(conn_rep(&c, TH_ACK, pattern, 20));
	TRY(fwd_via(&c, TH_ACK, 20, 0));
	label("established: ACKs from the slot");
	TRY(fwd_via(&c, TH_ACK, 20, 1));
	TRY(fwd_via(&c, TH_ACK | TH_PSH, 20, 1));
	label("a stray SYN changes nothing in ESTABLISHED either (by the slow path)");
	TRY(fwd_via(&c, TH_SYN, 0, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));
	label("the backend closes");
	TRY(conn_rep(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_FIN_WAIT, XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));
	TRY(fwd_via(&c, TH_ACK, 0, 0));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_CLOSE_WAIT,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* Two flows in one slot: the first keeps it while it is good; once it is
 * not, the second takes it, and what the slot counted for the first goes
 * to the first's entry. */
PROG_CASE(fast_path_shared_slot)
{
	struct conn a = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7400, 53, 7400, 5353 };
	struct conn b = a;
	struct xfwd_flow_key ak = conn_okey(&a), bk;
	struct xfwd_flow f;
	__u64 by;

	for (b.cport = 7401; b.cport; b.cport++) {
		b.sport = b.cport;
		bk = conn_okey(&b);
		if (xfwd_fast_slot(&bk) == xfwd_fast_slot(&ak))
			break;
	}
	if (!ASSERT_TRUE(b.cport, "no client port shares a slot with %u", a.cport))
		return -1;
	TRY(fast_on());
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(conn_fwd(&a, 0, pattern, 40));
	TRY(conn_rep(&a, 0, pattern, 40));
	TRY(conn_fwd(&b, 0, pattern, 40));
	TRY(conn_rep(&b, 0, pattern, 40));
	TRY(conn_fwd(&b, 0, pattern, 40));	/* assured: its last state change */
	TRY(fwd_via(&a, 0, 40, 0));
	TRY(fwd_via(&a, 0, 40, 0));
	TRY(fwd_via(&a, 0, 40, 1));
	TRY(fwd_via(&a, 0, 40, 1));
	label("the other flow of the slot, while the first holds it");
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&a, 0, 40, 1));
	if (!ASSERT_EQ(fast_pending(&ak, &by), 3, "first flow's packets in the slot"))
		return -1;
	label("the first one's time is up: the second takes the slot");
	skel->bss->xfwd_clock_offset_ns = XFWD_FAST_NS + 1000000;
	TRY(fwd_via(&b, 0, 40, 0));
	TRY(fwd_via(&b, 0, 40, 1));
	if (!ASSERT_EQ(fast_pending(&ak, &by), 0, "first flow's packets left in the slot"))
		return -1;
	TRY(expect_entry_packets(&ak, IN_FLOWS, 6, "first flow's entry", &f));
	if (!ASSERT_EQ(f.bytes, 6 * (20 + 8 + 40), "first flow's entry bytes"))
		return -1;
	return 0;
}

/* Is key's bit in xfwd_where set on any CPU? */
static int where_pending(const struct xfwd_flow_key *k)
{
	static struct xfwd_where w[256];
	__u32 zero = 0, slot = xfwd_where_slot(k);
	int i;

	if (ncpus > 256 || bpf_map_lookup_elem(bpf_map__fd(skel->maps.xfwd_where), &zero, w))
		return -1;
	for (i = 0; i < ncpus; i++)
		if (w[i].pending[slot / 64] & (1ull << (slot % 64)))
			return 1;
	return 0;
}

/* The lookup order follows xfwd_where: a flow found unconfirmed is looked for
 * there first, and once it is confirmed the first hit there sets it right. */
PROG_CASE(where_hint)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7200, 53, 7200, 5353 };
	struct xfwd_flow_key ok = conn_okey(&c);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("first datagram");
	TRY(conn_fwd(&c, 0, pattern, 40));
	if (!ASSERT_EQ(where_pending(&ok), 0, "hint after the first datagram (not looked up yet)"))
		return -1;
	label("second datagram: found unconfirmed");
	TRY(conn_fwd(&c, 0, pattern, 40));
	if (!ASSERT_EQ(where_pending(&ok), 1, "hint after a hit in the unconfirmed table"))
		return -1;
	label("third datagram: looked for there first");
	TRY(conn_fwd(&c, 0, pattern, 40));
	TRY(expect_entry_packets(&ok, IN_PENDING, 3, "original entry", NULL));
	label("the answer confirms the connection");
	TRY(conn_rep(&c, 0, pattern, 30));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	if (!ASSERT_EQ(where_pending(&ok), 1, "hint changed by the answer's lookup"))
		return -1;
	label("a datagram after: the hint is wrong, the confirmed entry serves it");
	TRY(conn_fwd(&c, 0, pattern, 40));
	TRY(expect_entry_packets(&ok, IN_FLOWS, 4, "confirmed original entry", NULL));
	if (!ASSERT_EQ(where_pending(&ok), 0, "hint not corrected by the hit in xfwd_flows"))
		return -1;
	label("and the next");
	TRY(conn_fwd(&c, 0, pattern, 40));
	return expect_entry_packets(&ok, IN_FLOWS, 5, "confirmed original entry", NULL);
}
