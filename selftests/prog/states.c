// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Connection states and their timeouts: a UDP flow's expiry, TCP's states
 * from SYN to CLOSE, RST, connections picked up mid-stream.
 */
#include "harness.h"

PROG_CASE(udp_lazy_expiry)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 8000, 53, 8000, 5353 };
	struct pkt_spec rep = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 8000);
	__u64 unreplied = timeouts[XFWD_TO_UDP_UNREPLIED] * NSEC;
	__u64 assured = timeouts[XFWD_TO_UDP_ASSURED] * NSEC;
	struct xfwd_flow_key ok = conn_okey(&c);
	struct counters a, b;
	struct xfwd_flow o;
	__u64 t;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	label("first UDP packet");
	TRY(conn_fwd(&c, 0, pattern, 16));
	TRY(conn_expect(&c, IN_PENDING, XFWD_ST_NONE, XFWD_FLOW_PENDING));

	t = unreplied + NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply %llus later (unreplied timeout %us)", t / NSEC,
	      timeouts[XFWD_TO_UDP_UNREPLIED]);
	TRY(expect_pass(SIDE_LAN, &rep, XFWD_CNT_PASS_NO_MATCH));

	label("new UDP packet after expiry");
	TRY(counters_read(&a));
	TRY(conn_fwd(&c, 0, pattern, 16));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	if (!ASSERT_TRUE(flow_get(&ok, &o) == IN_PENDING, "no pending entry for the new flow"))
		return -1;
	if (!ASSERT_TRUE(o.last_seen_ns >= t, "last_seen_ns %llu is before the clock (%llu)",
			 (unsigned long long)o.last_seen_ns, (unsigned long long)t))
		return -1;
	if (!ASSERT_EQ(o.packets, 1, "packets of the re-created entry"))
		return -1;

	/* Alive while used: 29 s after the last packet the reply still matches. */
	t += unreplied - NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply 29s after the new flow's packet");
	TRY(conn_rep(&c, 0, pattern, 16));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	label("client packet after the reply");
	TRY(conn_fwd(&c, 0, pattern, 16));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED));

	/* Assured: the longer timeout. */
	t += assured - NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply %us after the last packet (assured timeout %us)",
	      timeouts[XFWD_TO_UDP_ASSURED] - 1, timeouts[XFWD_TO_UDP_ASSURED]);
	TRY(conn_rep(&c, 0, pattern, 16));
	t += assured + NSEC;
	skel->bss->xfwd_clock_offset_ns = t;
	label("reply %us after the last packet (assured timeout %us)",
	      timeouts[XFWD_TO_UDP_ASSURED] + 1, timeouts[XFWD_TO_UDP_ASSURED]);
	return expect_pass(SIDE_LAN, &rep, XFWD_CNT_PASS_NO_MATCH);
}

PROG_CASE(tcp_states)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42000, 80, 42000, 8080 };
	const unsigned seen = XFWD_FLOW_SEEN_REPLY, as = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED;
	struct xfwd_flow o;
	struct xfwd_flow_key ok = conn_okey(&c);
	int nf, np;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_expect(&c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	label("SYN/ACK");
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_PENDING, XFWD_ST_SYN_RECV, XFWD_FLOW_PENDING | seen));
	label("ACK");
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, as));
	flows_count(&nf, &np);
	if (!ASSERT_EQ(np, 0, "entries left in xfwd_pending after confirmation"))
		return -1;
	if (!ASSERT_EQ(nf, 2, "entries in xfwd_flows"))
		return -1;
	label("data both ways");
	TRY(conn_fwd(&c, TH_ACK | TH_PSH, pattern, 100));
	TRY(conn_rep(&c, TH_ACK | TH_PSH, pattern, 1000));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, as));
	label("FIN/ACK from the client");
	TRY(conn_fwd(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_FIN_WAIT, as));
	flow_get(&ok, &o);
	if (!ASSERT_EQ(o.closer, XFWD_DIR_ORIGINAL, "closer"))
		return -1;
	label("ACK from the server");
	TRY(conn_rep(&c, TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_CLOSE_WAIT, as));
	label("FIN/ACK from the server");
	TRY(conn_rep(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_LAST_ACK, as));
	label("last ACK from the client");
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_TIME_WAIT, as));

	/* TIME_WAIT lasts its timeout, then the tuple is free. */
	skel->bss->xfwd_clock_offset_ns = (timeouts[XFWD_TO_TCP_TIME_WAIT] - 1) * NSEC;
	label("retransmitted FIN from the server, in TIME_WAIT");
	TRY(conn_rep(&c, TH_FIN | TH_ACK, NULL, 0));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_TIME_WAIT, as));
	skel->bss->xfwd_clock_offset_ns += (timeouts[XFWD_TO_TCP_TIME_WAIT] + 1) * NSEC;
	label("ACK from the server after TIME_WAIT expired");
	{
		struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 42000);

		p.tcp_flags = TH_ACK;
		TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	}
	label("new SYN on the same tuple");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	return conn_expect(&c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING);
}

static int tcp_handshake(const struct conn *c)
{
	label("SYN %u", c->cport);
	TRY(conn_fwd(c, TH_SYN, NULL, 0));
	label("SYN/ACK %u", c->cport);
	TRY(conn_rep(c, TH_SYN | TH_ACK, NULL, 0));
	label("ACK %u", c->cport);
	TRY(conn_fwd(c, TH_ACK, NULL, 0));
	return conn_expect(c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

PROG_CASE(tcp_rst_close)
{
	struct conn c1 = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42001, 80, 42001, 8080 };
	struct conn c2 = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND1, 42002, 80, 42002, 8080 };
	const unsigned as = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED;
	struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 42001);

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tcp_handshake(&c1));
	label("RST from the client");
	TRY(conn_fwd(&c1, TH_RST, NULL, 0));
	TRY(conn_expect(&c1, IN_FLOWS, XFWD_ST_CLOSE, as));

	TRY(tcp_handshake(&c2));
	label("RST/ACK from the server");
	TRY(conn_rep(&c2, TH_RST | TH_ACK, NULL, 0));
	TRY(conn_expect(&c2, IN_FLOWS, XFWD_ST_CLOSE, as));

	/* CLOSE lasts 10 s. */
	skel->bss->xfwd_clock_offset_ns = (timeouts[XFWD_TO_TCP_CLOSE] + 1) * NSEC;
	p.tcp_flags = TH_ACK;
	label("server ACK %us after the client's RST", timeouts[XFWD_TO_TCP_CLOSE] + 1);
	return expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH);
}

/* A connection whose only answer is a reset is forgotten at once. */
PROG_CASE(tcp_rst_only_answer)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42003, 80, 42003, 8080 };
	struct xfwd_flow_key ok = conn_okey(&c), rk = conn_rkey(&c);
	struct pkt_spec p = lan_pkt(IPPROTO_TCP, BACKEND1, 8080, CLIENT1, 42003);
	struct xfwd_flow e;
	struct counters a, b;
	int t;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("RST/ACK as the only answer (still translated)");
	TRY(conn_rep(&c, TH_RST | TH_ACK, NULL, 0));
	t = flow_get(&ok, &e);
	if (!ASSERT_TRUE(t == IN_NONE, "original entry still in %s", table_name(t)))
		return -1;
	t = flow_get(&rk, &e);
	if (!ASSERT_TRUE(t == IN_NONE || (e.flags & XFWD_FLOW_DEAD),
			 "reply entry alive in %s (flags 0x%x)", table_name(t), e.flags))
		return -1;
	p.tcp_flags = TH_RST | TH_ACK;
	label("retransmitted RST/ACK");
	TRY(expect_pass(SIDE_LAN, &p, XFWD_CNT_PASS_NO_MATCH));
	label("SYN again");
	TRY(counters_read(&a));
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	return conn_expect(&c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING);
}

/*
 * With tcp_loose, a lone ACK to a forwarded port is picked up mid-stream
 * (like conntrack's nf_conntrack_tcp_loose), but nobody answered: it must not count as confirmed, or a
 * flood of spoofed ACKs would evict established connections.
 */
PROG_CASE(tcp_midstream_unconfirmed)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42004, 80, 42004, 8080 };
	const unsigned as = XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED;
	struct xfwd_flow_key ok = conn_okey(&c);
	struct xfwd_flow e;
	int t;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(tcp_loose(1));
	label("ACK without a connection (mid-stream pickup, tcp_loose)");
	TRY(conn_fwd(&c, TH_ACK, pattern, 10));
	t = flow_get(&ok, &e);
	if (!ASSERT_TRUE(t == IN_PENDING, "unanswered mid-stream flow in %s, expected xfwd_pending",
			 table_name(t)))
		return -1;
	if (!ASSERT_TRUE(!(e.flags & XFWD_FLOW_ASSURED), "unanswered flow is ASSURED (flags 0x%x)",
			 e.flags))
		return -1;
	label("ACK from the server");
	TRY(conn_rep(&c, TH_ACK, pattern, 10));
	label("ACK from the client");
	TRY(conn_fwd(&c, TH_ACK, pattern, 10));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED, as);
}
