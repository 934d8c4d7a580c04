// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * TCP window tracking: the sequence checks of every state (blind RST, FIN
 * and ACK refused), the handshake's acknowledgements, scaling, wrap-around,
 * simultaneous open, retransmitted SYNs, TIME_WAIT reuse, clashes, segments
 * other than SYN starting nothing, the fast path's checks, exact RST.
 */
#include "harness.h"

/* A connection with its sequence numbers, for the window tests. */
struct tcpc {
	struct conn c;
	uint32_t cisn, sisn;	/* initial sequence numbers */
	uint32_t cnxt, snxt;	/* next sequence number each side sends */
	uint16_t cwin, swin;	/* windows they advertise (0: pkt.h's default) */
	int cscale, sscale;	/* window scale option on their SYN (-1: none) */
};

static struct tcpc tcpc_new(uint16_t cport, uint32_t cisn, uint32_t sisn)
{
	struct tcpc t = {
		.c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, cport, 80, cport, 8080 },
		.cisn = cisn, .sisn = sisn, .cnxt = cisn, .snxt = sisn,
		.cscale = -1, .sscale = -1,
	};
	return t;
}

/* A segment from the client (dir 0) or the backend (dir 1). */
static struct pkt_spec tc_seg(const struct tcpc *t, int dir, uint8_t flags, uint32_t seq,
			      uint32_t ack, size_t plen)
{
	static uint8_t opts[2][4];
	const struct conn *c = &t->c;
	struct pkt_spec s = dir ? lan_pkt(IPPROTO_TCP, c->backend, c->bport, c->src, c->sport) :
				  pub_pkt(IPPROTO_TCP, c->client, c->cport, c->pub, c->pport);
	int scale = dir ? t->sscale : t->cscale;

	s.tcp_flags = flags;
	s.seq = seq;
	s.ack = flags & TH_ACK ? ack : 0;
	payload_set(&s, plen);
	s.window = dir ? t->swin : t->cwin;
	if ((flags & TH_SYN) && scale >= 0) {
		opts[dir][0] = 1;		/* NOP */
		opts[dir][1] = 3;		/* window scale */
		opts[dir][2] = 3;
		opts[dir][3] = (uint8_t)scale;
		s.tcp_opts = opts[dir];
		s.tcp_opts_len = 4;
	}
	return s;
}

/* The rule the connections of tcpc_new() go through: tcp 80 to
 * BACKEND1:8080, id 1. */
static int tc_rule(void)
{
	return rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1);
}

/* The segment is forwarded, translated; its sender's next seq advances. */
static int tc_ok(struct tcpc *t, int dir, uint8_t flags, uint32_t seq, uint32_t ack, size_t plen)
{
	const struct conn *c = &t->c;
	struct pkt_spec in = tc_seg(t, dir, flags, seq, ack, plen);
	uint32_t end = seq + (uint32_t)plen + !!(flags & TH_SYN) + !!(flags & TH_FIN);
	uint32_t *nxt = dir ? &t->snxt : &t->cnxt;

	if (dir)
		TRY(expect_xlated(SIDE_LAN, &in, c->pub, c->pport, c->client, c->cport));
	else
		TRY(expect_xlated(SIDE_PUB, &in, c->src, c->sport, c->backend, c->bport));
	if ((int32_t)(end - *nxt) > 0)
		*nxt = end;
	return 0;
}

/* The segment is dropped, counted as cnt, and changes neither entry. */
static int tc_refused(struct tcpc *t, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
		      size_t plen, unsigned cnt)
{
	struct xfwd_flow_key ok = conn_okey(&t->c), rk = conn_rkey(&t->c);
	struct pkt_spec in = tc_seg(t, dir, flags, seq, ack, plen);
	struct xfwd_flow o0, r0, o1, r1;
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build(&in, ib);
	int to, tr;

	memset(&o0, 0, sizeof(o0));
	memset(&r0, 0, sizeof(r0));
	memset(&o1, 0, sizeof(o1));
	memset(&r1, 0, sizeof(r1));
	to = flow_get(&ok, &o0);
	tr = flow_get(&rk, &r0);
	TRY(expect_drop_n(dir ? SIDE_LAN : SIDE_PUB, ib, il, cnt));
	if (!ASSERT_EQ(flow_get(&ok, &o1), to, "table of the original entry"))
		return -1;
	if (!ASSERT_EQ(flow_get(&rk, &r1), tr, "table of the reply entry"))
		return -1;
	if (!ASSERT_TRUE(!memcmp(&o0, &o1, sizeof(o0)), "%s: the original entry changed", pkt_label))
		return -1;
	if (!ASSERT_TRUE(!memcmp(&r0, &r1, sizeof(r0)), "%s: the reply entry changed", pkt_label))
		return -1;
	return 0;
}

/* The connection is confirmed: established, out of the pending table. */
static int tc_confirmed(const struct tcpc *t)
{
	return conn_expect(&t->c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* The client's ACK of the SYN-ACK ends the handshake: confirmed. */
static int tc_ack_confirms(struct tcpc *t)
{
	label("ACK %u of the SYN-ACK", t->c.cport);
	TRY(tc_ok(t, 0, TH_ACK, t->cnxt, t->snxt, 0));
	return tc_confirmed(t);
}

/* The backend's SYN-ACK of the client's last SYN, the client's ACK:
 * confirmed. */
static int tc_accept(struct tcpc *t)
{
	label("SYN/ACK %u (isn 0x%x)", t->c.cport, t->sisn);
	TRY(tc_ok(t, 1, TH_SYN | TH_ACK, t->sisn, t->cnxt, 0));
	return tc_ack_confirms(t);
}

/* The client's SYN with its isn: forwarded. */
static int tc_syn(struct tcpc *t)
{
	label("SYN %u (isn 0x%x)", t->c.cport, t->cisn);
	return tc_ok(t, 0, TH_SYN, t->cisn, 0, 0);
}

/* Another connection on the tuple, with new initial sequence numbers: the
 * client's SYN makes it pending. */
static int tc_reopen(struct tcpc *t, uint32_t cisn, uint32_t sisn)
{
	t->cisn = t->cnxt = cisn;
	t->sisn = t->snxt = sisn;
	TRY(tc_ok(t, 0, TH_SYN, t->cisn, 0, 0));
	return conn_expect(&t->c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING);
}

/* SYN, SYN-ACK, ACK with the connection's numbers: confirmed. */
static int tc_open(struct tcpc *t)
{
	TRY(tc_syn(t));
	return tc_accept(t);
}

static unsigned tc_state(const struct tcpc *t)
{
	struct xfwd_flow_key ok = conn_okey(&t->c);
	struct xfwd_flow o;

	return flow_get(&ok, &o) == IN_NONE ? 0xff : o.state;
}

/* The connection is in state want; a failure names both states. */
static int tc_expect_state(const struct tcpc *t, unsigned want, const char *what)
{
	unsigned st = tc_state(t);

	if (!ASSERT_TRUE(st == want, "%s: expected %s, got %s", what, state_name(want),
			 st == 0xff ? "no entry" : state_name(st)))
		return -1;
	return 0;
}

/* An RST the tracker accepts (in the window, at the number the other side
 * expects): forwarded, and the connection is closed. */
static int tc_rst_closes(struct tcpc *t, int dir, uint8_t flags, uint32_t seq)
{
	TRY(tc_ok(t, dir, flags, seq, dir ? t->cnxt : t->snxt, 0));
	return tc_expect_state(t, XFWD_ST_CLOSE, "state after the RST");
}

/* Blind segments, both ways: a RST, a FIN and an ACK far from the window. */
static int tc_blind(struct tcpc *t, const char *when)
{
	static const uint32_t off[] = { 0x40000000, 0x80000000, 0xc0000000, 200000 };
	unsigned st = tc_state(t);

	for (unsigned i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		label("%s: blind RST from the client's address, seq +0x%x", when, off[i]);
		TRY(tc_refused(t, 0, TH_RST, t->cnxt + off[i], 0, 0, XFWD_CNT_TCP_OOW_RST));
		label("%s: blind RST/ACK from the backend's side, seq +0x%x", when, off[i]);
		TRY(tc_refused(t, 1, TH_RST | TH_ACK, t->snxt + off[i], t->cnxt, 0,
			       XFWD_CNT_TCP_OOW_RST));
		label("%s: blind FIN/ACK, seq +0x%x", when, off[i]);
		TRY(tc_refused(t, 0, TH_FIN | TH_ACK, t->cnxt + off[i], t->snxt, 0,
			       XFWD_CNT_TCP_OOW_FIN));
		label("%s: ACK of data never sent, ack +0x%x", when, off[i]);
		TRY(tc_refused(t, 0, TH_ACK, t->cnxt, t->snxt + off[i], 0, XFWD_CNT_TCP_OOW_ACK));
	}
	TRY(tc_expect_state(t, st, "state after the blind segments"));
	return 0;
}

/* Blind segments change nothing; then an in-window RST from the client
 * (dir 0) or RST/ACK from the backend (dir 1) closes the connection. */
static int tc_blind_then_rst(struct tcpc *t, const char *when, int dir)
{
	TRY(tc_blind(t, when));
	label("%s: in-window RST%s from the %s", when, dir ? "/ACK" : "",
	      dir ? "backend" : "client");
	return tc_rst_closes(t, dir, dir ? TH_RST | TH_ACK : TH_RST, dir ? t->snxt : t->cnxt);
}

/* In every state, segments outside the window change nothing, and an
 * in-window RST ends the connection. */
PROG_CASE(tcp_window_every_state)
{
	static const unsigned want[] = { XFWD_ST_SYN_SENT, XFWD_ST_SYN_RECV, XFWD_ST_ESTABLISHED,
					 XFWD_ST_FIN_WAIT, XFWD_ST_CLOSE_WAIT, XFWD_ST_LAST_ACK,
					 XFWD_ST_TIME_WAIT };

	TRY(tc_rule());
	for (unsigned k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		struct tcpc t = tcpc_new((uint16_t)(43000 + k), 0x1000 * (k + 1), 0x7000000 * (k + 1));
		const char *name = state_name(want[k]);

		label("%s: SYN", name);
		TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
		if (want[k] >= XFWD_ST_SYN_RECV)
			TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
		if (want[k] >= XFWD_ST_ESTABLISHED) {
			TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
			TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
			TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 1000));
		}
		if (want[k] >= XFWD_ST_FIN_WAIT)
			TRY(tc_ok(&t, 0, TH_FIN | TH_ACK, t.cnxt, t.snxt, 0));
		if (want[k] >= XFWD_ST_CLOSE_WAIT)
			TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
		if (want[k] >= XFWD_ST_LAST_ACK)
			TRY(tc_ok(&t, 1, TH_FIN | TH_ACK, t.snxt, t.cnxt, 0));
		if (want[k] >= XFWD_ST_TIME_WAIT)
			TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
		TRY(tc_expect_state(&t, want[k], "state reached"));
		if (want[k] == XFWD_ST_SYN_SENT) {
			/* Only the backend is heard in SYN_SENT: its RST must carry
			 * the ACK of the SYN (RFC 793). */
			label("SYN_SENT: RST without ACK from the backend's side");
			TRY(tc_refused(&t, 1, TH_RST, t.snxt, 0, 0, XFWD_CNT_TCP_OOW_RST));
			label("SYN_SENT: RST/ACK acking another sequence");
			TRY(tc_refused(&t, 1, TH_RST | TH_ACK, 0, t.cnxt + 1, 0,
				       XFWD_CNT_TCP_OOW_RST));
			TRY(tc_expect_state(&t, XFWD_ST_SYN_SENT, "state"));
			continue;
		}
		TRY(tc_blind_then_rst(&t, name, 0));
	}
	return 0;
}

/* The SYN-ACK must acknowledge the SYN; the ACK completing the handshake
 * must acknowledge the SYN-ACK, or nothing is confirmed. */
PROG_CASE(tcp_handshake_acks)
{
	struct tcpc t = tcpc_new(43100, 0x11110000, 0x22220000);

	TRY(tc_rule());
	TRY(tc_syn(&t));
	label("ACK with a random ack before any SYN-ACK (a flood's second packet)");
	TRY(tc_refused(&t, 0, TH_ACK, t.cnxt, 0x9abcdef0, 0, XFWD_CNT_TCP_OOW_ACK));
	label("data from the backend's side acking another sequence, before any SYN-ACK");
	TRY(tc_refused(&t, 1, TH_PSH | TH_ACK, t.sisn, t.cnxt + 5000, 10, XFWD_CNT_TCP_OOW_ACK));
	label("SYN-ACK acking isn + 2");
	TRY(tc_refused(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt + 1, 0, XFWD_CNT_TCP_OOW_SYNACK));
	label("SYN-ACK acking isn");
	TRY(tc_refused(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt - 1, 0, XFWD_CNT_TCP_OOW_SYNACK));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	label("SYN-ACK acking isn + 1");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_RECV,
			XFWD_FLOW_PENDING | XFWD_FLOW_SEEN_REPLY));
	label("ACK acking data the backend never sent");
	TRY(tc_refused(&t, 0, TH_ACK, t.cnxt, t.snxt + 100000, 0, XFWD_CNT_TCP_OOW_ACK));
	label("ACK with a random ack");
	TRY(tc_refused(&t, 0, TH_ACK, t.cnxt, t.snxt + 0x80000000, 0, XFWD_CNT_TCP_OOW_ACK));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_RECV,
			XFWD_FLOW_PENDING | XFWD_FLOW_SEEN_REPLY));
	return tc_ack_confirms(&t);
}

/* Window scaling: a window of 512 << 7 lets the client send 64 kB ahead,
 * but only when both SYNs offered the option. */
static int scale_case(uint16_t cport, int sscale, int in_window)
{
	struct tcpc t = tcpc_new(cport, 0x300, 0x90000);

	t.cscale = 7;
	t.sscale = sscale;
	t.swin = 512;
	t.cwin = 512;
	TRY(tc_open(&t));
	label("the backend's first window after the SYN-ACK (scaled, if both offered it)");
	TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	label("data 60000 bytes ahead (server scale %d)", sscale);
	if (in_window)
		return tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt + 60000, t.snxt, 100);
	return tc_refused(&t, 0, TH_PSH | TH_ACK, t.cnxt + 60000, t.snxt, 100,
			  XFWD_CNT_TCP_OOW_ACK);
}

PROG_CASE(tcp_window_scaling)
{
	TRY(tc_rule());
	TRY(scale_case(43200, 7, 1));
	TRY(scale_case(43201, -1, 0));	/* the backend did not offer it: no scaling */
	return 0;
}

/* Sequence numbers that wrap past 2^32 within the connection. */
PROG_CASE(tcp_window_wraps)
{
	struct tcpc t = tcpc_new(43300, 0xffffff00, 0xfffff000);

	TRY(tc_rule());
	TRY(tc_open(&t));
	for (int i = 0; i < 6; i++) {
		label("data across the wrap, round %d", i);
		TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 1000));
		TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 1400));
	}
	if (!ASSERT_TRUE(t.cnxt < 0x10000 && t.snxt < 0x10000, "the numbers did not wrap"))
		return -1;
	return tc_blind_then_rst(&t, "after the wrap", 1);
}

/* Both ends send a SYN (RFC 793 simultaneous open), then SYN-ACKs. */
PROG_CASE(tcp_simultaneous_open)
{
	struct tcpc t = tcpc_new(43400, 0x5000, 0x6000);

	TRY(tc_rule());
	TRY(tc_syn(&t));
	label("SYN from the backend");
	TRY(tc_ok(&t, 1, TH_SYN, t.sisn, 0, 0));
	label("SYN-ACK from the client");
	TRY(tc_ok(&t, 0, TH_SYN | TH_ACK, t.cisn, t.snxt, 0));
	label("SYN-ACK from the backend");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	label("ACK");
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	return tc_confirmed(&t);
}

/* A retransmitted SYN changes nothing; a SYN with a new initial sequence
 * number replaces the first, and the SYN-ACK must acknowledge the new one. */
PROG_CASE(tcp_retransmitted_syn)
{
	struct tcpc t = tcpc_new(43500, 0x100, 0x8000);

	TRY(tc_rule());
	TRY(tc_syn(&t));
	label("the same SYN again");
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	TRY(conn_expect(&t.c, IN_PENDING, XFWD_ST_SYN_SENT, XFWD_FLOW_PENDING));
	label("a SYN with a new isn");
	t.cisn += 100000;
	TRY(tc_ok(&t, 0, TH_SYN, t.cisn, 0, 0));
	label("SYN-ACK acking the first SYN");
	TRY(tc_refused(&t, 1, TH_SYN | TH_ACK, t.sisn, 0x100 + 1, 0, XFWD_CNT_TCP_OOW_SYNACK));
	label("SYN-ACK acking the new SYN");
	TRY(tc_ok(&t, 1, TH_SYN | TH_ACK, t.sisn, t.cnxt, 0));
	return tc_ack_confirms(&t);
}

/* A SYN on the tuple of a connection in TIME_WAIT starts a new connection
 * with counters of its own, as conntrack does. */
PROG_CASE(tcp_time_wait_reuse)
{
	struct tcpc t = tcpc_new(43600, 0x1000, 0x2000);
	struct xfwd_flow_key ok = conn_okey(&t.c);
	struct xfwd_flow o;
	struct counters a, b;
	__u32 id;

	TRY(tc_rule());
	TRY(tc_open(&t));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 500));
	TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 500));
	TRY(tc_ok(&t, 0, TH_FIN | TH_ACK, t.cnxt, t.snxt, 0));
	TRY(tc_ok(&t, 1, TH_FIN | TH_ACK, t.snxt, t.cnxt, 0));
	TRY(tc_ok(&t, 0, TH_ACK, t.cnxt, t.snxt, 0));
	TRY(tc_expect_state(&t, XFWD_ST_TIME_WAIT, "state"));
	flow_get(&ok, &o);
	id = o.conn_id;
	if (!ASSERT_EQ(o.packets, 5, "packets of the first connection"))
		return -1;
	label("a new SYN on the tuple, in TIME_WAIT");
	TRY(counters_read(&a));
	TRY(tc_reopen(&t, t.cisn + 0x100000, t.sisn + 0x200000));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_REOPEN, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	flow_get(&ok, &o);
	if (!ASSERT_EQ(o.packets, 1, "packets of the new connection"))
		return -1;
	if (!ASSERT_NE(o.conn_id, id, "the new connection's id"))
		return -1;
	return tc_accept(&t);
}

/* Rules tcp 80 and tcp 81 to one backend, the same client port through
 * both: the second connection's reply tuple is the first's, so it gets
 * another source port (conntrack's implicit source NAT). */
PROG_CASE(tcp_clash_snat)
{
	struct tcpc a = tcpc_new(44000, 0x100, 0x200), b = tcpc_new(44000, 0x900000, 0xa00000);
	struct pkt_spec in;
	uint8_t ib[PKT_MAX];
	struct frame f;
	struct counters x, y;
	uint16_t port;

	TRY(tc_rule());
	TRY(rule_add(IPPROTO_TCP, 0, 81, BACKEND1, 8080, 0, 2));
	b.c.pport = 81;
	TRY(tc_open(&a));
	label("SYN from the same client port through port 81");
	in = tc_seg(&b, 0, TH_SYN, b.cisn, 0, 0);
	TRY(run_expect(SIDE_PUB, ib, pkt_build(&in, ib), XDP_REDIRECT, &x, &y));
	TRY(expect_moved(&x, &y, XFWD_CNT_CLASH_SNAT, 1));
	frame_parse(R.frame, R.len, &f);
	port = get16(R.frame + f.l4);
	{
		uint32_t sa;

		memcpy(&sa, R.frame + f.l3 + 12, 4);
		if (!ASSERT_ADDR(sa, CLIENT1, "source address (kept)"))
			return -1;
	}
	if (!ASSERT_TRUE(port != 44000 && port >= XFWD_SNAT_PORT_MIN && port <= XFWD_SNAT_PORT_MAX,
			 "source port %u: expected another one, from the SNAT range", port))
		return -1;
	if (!ASSERT_TRUE(ip_csum_valid(R.frame + f.l3) && l4_csum_valid(R.frame + f.l3),
			 "checksums of the translated SYN"))
		return -1;
	b.c.sport = port;
	b.cnxt = b.cisn + 1;
	label("SYN-ACK to the new port, back to the client's port 44000 from port 81");
	TRY(tc_ok(&b, 1, TH_SYN | TH_ACK, b.sisn, b.cnxt, 0));
	TRY(tc_ack_confirms(&b));
	label("the first connection still works");
	TRY(tc_ok(&a, 1, TH_PSH | TH_ACK, a.snxt, a.cnxt, 10));
	return tc_ok(&a, 0, TH_PSH | TH_ACK, a.cnxt, a.snxt, 10);
}

/* Only a SYN starts a connection (tcp_loose off): a lone ACK to a forwarded
 * port goes to the stack (as conntrack's INVALID), one from a masqueraded
 * LAN host is dropped (passed, it would leave untranslated). */
PROG_CASE(tcp_midstream_refused)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 42005, 80, 42005, 8080 };
	struct xfwd_flow_key ok = conn_okey(&c);
	struct pkt_spec p = pub_pkt(IPPROTO_TCP, CLIENT1, 42005, PUB_ADDR, 80);
	struct xfwd_flow e;

	static const uint8_t fl[] = { TH_ACK, TH_PSH | TH_ACK, TH_FIN | TH_ACK, TH_RST,
				      TH_RST | TH_ACK, TH_SYN | TH_ACK, TH_SYN | TH_RST };

	TRY(tc_rule());
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	for (unsigned i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		p.tcp_flags = fl[i];
		p.ack = 0x1234;
		label("flags 0x%02x without a connection, to a forwarded port", fl[i]);
		TRY(expect_pass(SIDE_PUB, &p, XFWD_CNT_TCP_NO_SYN));
		if (!ASSERT_TRUE(flow_get(&ok, &e) == IN_NONE, "an entry was made"))
			return -1;
	}
	p = lan_pkt(IPPROTO_TCP, BACKEND1, 45000, CLIENT2, 443);
	p.tcp_flags = TH_ACK;
	label("ACK without a connection from a masqueraded LAN host");
	return expect_drop(SIDE_LAN, &p, XFWD_CNT_TCP_NO_SYN);
}

/* The fast path checks the window too: a slot serving an established
 * flow does not carry a blind segment. */
PROG_CASE(tcp_fast_path_window)
{
	struct tcpc t = tcpc_new(44100, 0x4000, 0x8000);
	struct counters a, b;

	TRY(fast_on());
	TRY(tc_rule());
	TRY(tc_open(&t));
	for (int i = 0; i < 4; i++) {
		label("data %d", i);
		TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
	}
	label("served by the fast path");
	TRY(counters_read(&a));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FAST, 1));
	label("blind data far outside the window, with a slot for the flow");
	TRY(tc_refused(&t, 0, TH_PSH | TH_ACK, t.cnxt + 0x70000000, t.snxt, 100,
		       XFWD_CNT_TCP_OOW_ACK));
	label("data acking what was never sent");
	TRY(tc_refused(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt + 0x100000, 100,
		       XFWD_CNT_TCP_OOW_ACK));
	label("the flow goes on by the fast path, its window kept up to date");
	for (int i = 0; i < 1000; i++) {
		TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 1400));
		if (i % 10 == 9)	/* the backend acknowledges */
			TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	}
	label("an in-window RST after 1.4 MB");
	TRY(tc_rst_closes(&t, 0, TH_RST, t.cnxt));
	return 0;
}

/* An RST on an established connection ends it only at the sequence number
 * the other side expects (its last ack, or right after the sender's last
 * data); anywhere else in the window it is forwarded but the state stays,
 * waiting for the endpoint's challenge ACK (RFC 5961, conntrack's
 * td_maxack); before the expected number it is refused. */
PROG_CASE(tcp_rst_exact)
{
	struct tcpc t = tcpc_new(44200, 0x100000, 0x200000);
	struct tcpc u = tcpc_new(44201, 0x300000, 0x400000);
	struct counters a, b;
	uint32_t acked;

	TRY(tc_rule());
	TRY(tc_open(&t));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 300));
	TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 300));
	acked = t.cnxt;		/* the backend acknowledged all the client sent */
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 200));	/* in flight */
	label("RST in the window, 1000 past the client's next byte");
	TRY(counters_read(&a));
	TRY(tc_ok(&t, 0, TH_RST, t.cnxt + 1000, 0, 0));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_OOW_RST, 0));
	TRY(tc_expect_state(&t, XFWD_ST_ESTABLISHED, "state after an inexact RST"));
	label("RST before what the backend acknowledged");
	TRY(tc_refused(&t, 0, TH_RST, acked - 10, 0, 0, XFWD_CNT_TCP_OOW_RST));
	label("RST right after the client's last data");
	t.cnxt -= 1000;		/* tc_ok moved it to the RST's sequence number */
	TRY(tc_rst_closes(&t, 0, TH_RST, acked + 200));

	TRY(tc_open(&u));
	TRY(tc_ok(&u, 1, TH_PSH | TH_ACK, u.snxt, u.cnxt, 300));
	TRY(tc_ok(&u, 0, TH_ACK, u.cnxt, u.snxt, 0));
	TRY(tc_ok(&u, 1, TH_PSH | TH_ACK, u.snxt, u.cnxt, 300));	/* unacknowledged */
	label("RST/ACK from the backend at what the client acknowledged");
	TRY(tc_rst_closes(&u, 1, TH_RST | TH_ACK, u.snxt - 300));
	return 0;
}

/* A client that lost its connection (its RST never arrived) opens another
 * from the same port: the SYN goes through untouched, the backend's
 * challenge ACK comes back, the client's RST at exactly the acknowledged
 * number ends the old connection and its next SYN opens the new one. */
PROG_CASE(tcp_syn_on_established)
{
	struct tcpc t = tcpc_new(44300, 0x500000, 0x600000);
	struct counters a, b;

	TRY(tc_rule());
	TRY(tc_open(&t));
	TRY(tc_ok(&t, 0, TH_PSH | TH_ACK, t.cnxt, t.snxt, 100));
	TRY(tc_ok(&t, 1, TH_PSH | TH_ACK, t.snxt, t.cnxt, 100));
	label("a new SYN, another isn, on the established tuple");
	TRY(counters_read(&a));
	{
		uint32_t keep = t.cnxt;

		TRY(tc_ok(&t, 0, TH_SYN, 0x9000000, 0, 0));
		t.cnxt = keep;
	}
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_OOW_SYNACK, 0));
	TRY(expect_moved(&a, &b, XFWD_CNT_TCP_REOPEN, 0));
	TRY(tc_expect_state(&t, XFWD_ST_ESTABLISHED, "state after the SYN"));
	label("the backend's challenge ACK");
	TRY(tc_ok(&t, 1, TH_ACK, t.snxt, t.cnxt, 0));
	label("the client's RST at the challenge ACK's number");
	TRY(tc_rst_closes(&t, 0, TH_RST, t.cnxt));
	label("the SYN again: a new connection");
	TRY(tc_reopen(&t, 0x9000000, 0xa000000));
	return tc_accept(&t);
}
