// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * One entry until answered: the reply entry written by the first reply
 * (UDP, TCP, over a dead entry, tuple taken), the checks on public
 * sources, and a clock behind the entries.
 */
#include <time.h>

#include "harness.h"

/* Is key in either table? */
static int flow_there(const struct xfwd_flow_key *k)
{
	struct xfwd_flow f;

	return flow_get(k, &f) != 0;
}

/*
 * A plain rule to a backend no other rule reaches: the connection starts
 * with its original entry alone; the backend's first answer makes the reply
 * entry (translated as ever), and then the connection is confirmed.
 */
PROG_CASE(lazy_reply_udp)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7000, 53, 7000, 5353 };
	struct pkt_spec stray = lan_pkt(IPPROTO_UDP, BACKEND1, 5353, CLIENT1, 7001);
	struct xfwd_flow_key ok = conn_okey(&c), rk = conn_rkey(&c);
	struct counters a, b;
	struct xfwd_flow o, r;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	TRY(counters_read(&a));
	label("first datagram 192.0.2.2:7000 > 192.0.2.1:53");
	TRY(conn_fwd(&c, 0, pattern, 40));
	label("second datagram");
	TRY(conn_fwd(&c, 0, pattern, 40));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_PENDING_ADD, 1));
	if (!ASSERT_TRUE(flow_get(&ok, &o) == IN_PENDING, "no pending original entry"))
		return -1;
	if (!ASSERT_TRUE(!flow_there(&rk), "a reply entry before any answer"))
		return -1;
	if (!ASSERT_EQ(o.packets, 2, "original entry packets"))
		return -1;

	label("a datagram from the backend to another client port");
	TRY(expect_pass(SIDE_LAN, &stray, XFWD_CNT_PASS_NO_MATCH));
	if (!ASSERT_TRUE(!flow_there(&rk), "a reply entry made for a stray datagram"))
		return -1;

	label("the backend's answer 198.51.100.2:5353 > 192.0.2.2:7000");
	TRY(counters_read(&a));
	TRY(conn_rep(&c, 0, pattern, 300));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_PENDING_ADD, 1));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_PROMOTED, 1));
	TRY(conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY));
	flow_get(&rk, &r);
	if (!ASSERT_EQ(r.packets, 1, "reply entry packets"))
		return -1;
	label("a second answer");
	TRY(conn_rep(&c, 0, pattern, 30));
	label("and more from the client");
	return conn_fwd(&c, 0, pattern, 40);
}

/* A handshake after its SYN: the SYN-ACK (the reply entry is there, both
 * unconfirmed), the client's ACK (both confirmed, established). */
static int handshake_rest(const struct conn *c)
{
	label("SYN-ACK");
	TRY(conn_rep(c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_expect(c, IN_PENDING, XFWD_ST_SYN_RECV, XFWD_FLOW_PENDING | XFWD_FLOW_SEEN_REPLY));
	label("ACK");
	TRY(conn_fwd(c, TH_ACK, NULL, 0));
	return conn_expect(c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* TCP: the SYN-ACK makes the reply entry; the handshake's ACK confirms. */
PROG_CASE(lazy_reply_tcp)
{
	struct conn c = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 41000, 443, 41000, 8443 };
	struct xfwd_flow_key rk = conn_rkey(&c);

	TRY(rule_add(IPPROTO_TCP, 0, 443, BACKEND2, 8443, 0, 1));
	TRY(backend_add(IPPROTO_TCP, BACKEND2, 8443, 0, 443, 0));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	if (!ASSERT_TRUE(!flow_there(&rk), "a reply entry after the SYN"))
		return -1;
	return handshake_rest(&c);
}

/* A backend's reset ended a one-entry connection and left its reply entry
 * dead; the tuple's next connection starts with one entry again, and its
 * answer makes the reply entry over the dead one. */
PROG_CASE(lazy_reply_over_dead_entry)
{
	struct conn c = { IPPROTO_TCP, CLIENT2, PUB_ADDR, CLIENT2, BACKEND2, 41100, 443, 41100, 8443 };
	struct xfwd_flow_key rk = conn_rkey(&c);
	struct xfwd_flow r;

	TRY(rule_add(IPPROTO_TCP, 0, 443, BACKEND2, 8443, 0, 1));
	TRY(backend_add(IPPROTO_TCP, BACKEND2, 8443, 0, 443, 0));
	label("SYN");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	label("the backend's RST, the only answer");
	TRY(conn_rep(&c, TH_RST | TH_ACK, NULL, 0));
	if (!ASSERT_TRUE(flow_get(&rk, &r) == IN_PENDING && (r.flags & XFWD_FLOW_DEAD),
			 "no dead reply entry after the reset"))
		return -1;
	label("a new SYN of the same tuple");
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	return handshake_rest(&c);	/* the SYN-ACK makes a fresh reply entry */
}

/* A one-entry connection's reply tuple is taken as if its reply entry were
 * there: a packet with that tuple arriving on the public side (the client
 * here spoofs the public address, the packet a backend's address) matches a
 * rule but starts no connection of its own. */
PROG_CASE(lazy_reply_tuple_taken)
{
	struct conn c = { IPPROTO_UDP, PUB_ADDR, PUB_ADDR, PUB_ADDR, BACKEND2, 53, 7009, 53, 8009 };
	struct pkt_spec own = pub_pkt(IPPROTO_UDP, PUB_ADDR, 53, PUB_ADDR, 7009);
	struct pkt_spec spoof = pub_pkt(IPPROTO_UDP, BACKEND2, 8009, PUB_ADDR, 53);
	struct xfwd_flow_key ok = conn_okey(&c);
	struct xfwd_flow f;

	TRY(rule_add(IPPROTO_UDP, 0, 7009, BACKEND2, 8009, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND2, 8009, 0, 7009, 0));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 2));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	/* The tuple trick needs two spoofed sources on the public side: the
	 * source checks stop both before any entry is made. */
	payload_set(&own, 40);
	label("192.0.2.1:53 > 192.0.2.1:7009 (this host's own address as source)");
	TRY(expect_drop(SIDE_PUB, &own, XFWD_CNT_DROP_SRC_LOCAL));
	if (!ASSERT_TRUE(flow_get(&ok, &f) == IN_NONE, "an entry was made"))
		return -1;
	label("198.51.100.3:8009 > 192.0.2.1:53 from the public side (a LAN source)");
	return expect_drop(SIDE_PUB, &spoof, XFWD_CNT_DROP_SRC_LAN);
}

/* Sources that cannot come from the internet start nothing there, as the
 * kernel's martian and reverse-path filters would drop them for the
 * iptables recipe; with rp_filter, neither does a source whose route back
 * leaves by another interface. Established connections are not asked. */
PROG_CASE(public_source_checks)
{
	const struct { uint32_t src; unsigned cnt; const char *what; } bad[] = {
		{ PUB_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the public address" },
		{ LAN_ADDR, XFWD_CNT_DROP_SRC_LOCAL, "the LAN address" },
		{ ip4(127, 0, 0, 1), XFWD_CNT_DROP_SRC_LOCAL, "loopback" },
		{ 0, XFWD_CNT_DROP_SRC_LOCAL, "0.0.0.0" },
		{ ip4(255, 255, 255, 255), XFWD_CNT_DROP_SRC_LOCAL, "the broadcast address" },
		{ ip4(224, 0, 0, 1), XFWD_CNT_DROP_SRC_LOCAL, "a multicast group" },
		{ BACKEND1, XFWD_CNT_DROP_SRC_LAN, "a LAN host" },
	};
	struct pkt_spec p;
	struct xfwd_config cfg;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 2));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int t = 0; t < 2; t++) {
			p = pub_pkt(t ? IPPROTO_TCP : IPPROTO_UDP, bad[i].src, 40000 + i,
				    PUB_ADDR, t ? 80 : 53);
			label("%s from %s (%s)", t ? "SYN" : "UDP", bad[i].what, astr(bad[i].src));
			TRY(expect_drop(SIDE_PUB, &p, bad[i].cnt));
		}
	}
	label("UDP from a host routed by a third interface, rp_filter off");
	p = pub_pkt(IPPROTO_UDP, FOREIGN, 40100, PUB_ADDR, 53);
	TRY(expect_xlated(SIDE_PUB, &p, FOREIGN, 40100, BACKEND1, 5353));
	TRY(config_get(&cfg));
	cfg.rp_filter = 1;
	TRY(config_set(&cfg));
	label("UDP from a host routed by a third interface, rp_filter strict");
	p = pub_pkt(IPPROTO_UDP, FOREIGN, 40101, PUB_ADDR, 53);
	TRY(expect_drop(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	label("UDP from an unrouted source, rp_filter strict");
	p = pub_pkt(IPPROTO_UDP, UNROUTED, 40102, PUB_ADDR, 53);
	TRY(expect_drop(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	cfg.rp_filter = 2;
	TRY(config_set(&cfg));
	label("UDP from a host routed by a third interface, rp_filter loose");
	p = pub_pkt(IPPROTO_UDP, FOREIGN, 40103, PUB_ADDR, 53);
	TRY(expect_xlated(SIDE_PUB, &p, FOREIGN, 40103, BACKEND1, 5353));
	label("UDP from an unrouted source, rp_filter loose");
	p = pub_pkt(IPPROTO_UDP, UNROUTED, 40104, PUB_ADDR, 53);
	TRY(expect_drop(SIDE_PUB, &p, XFWD_CNT_DROP_SRC_RPF));
	label("UDP from a client on the public side, rp_filter loose");
	p = pub_pkt(IPPROTO_UDP, CLIENT1, 40105, PUB_ADDR, 53);
	return expect_xlated(SIDE_PUB, &p, CLIENT1, 40105, BACKEND1, 5353);
}

/* xfwd_reply_now, as the loader runs it before a backend's index entry
 * goes: the reply entry of a one-entry connection, made without a packet,
 * serves the backend's answer once the index no longer names the backend. */
PROG_CASE(reply_now)
{
	struct conn c = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7300, 53, 7300, 5353 };
	struct xfwd_flow_key rk = conn_rkey(&c);
	struct xfwd_reply_req req = { .rkey = rk };
	LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &req, .ctx_size_in = sizeof(req));
	struct xfwd_rule_key k = { .addr = BACKEND1, .port = htons(5353), .proto = IPPROTO_UDP };
	struct timespec ts;
	struct xfwd_flow r;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	label("a datagram, one entry");
	TRY(conn_fwd(&c, 0, pattern, 40));
	if (!ASSERT_TRUE(!flow_there(&rk), "a reply entry before any answer"))
		return -1;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	req.now_ns = (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xfwd_reply_now), &run))
		return fail("xfwd_reply_now: %s", strerror(errno));
	if (!ASSERT_EQ(req.made, 1, "xfwd_reply_now's answer"))
		return -1;
	if (!ASSERT_TRUE(flow_get(&rk, &r) == IN_PENDING && r.dir == XFWD_DIR_REPLY,
			 "no reply entry after xfwd_reply_now"))
		return -1;
	label("the backend's index entry goes (rule del), then its answer");
	if (bpf_map_delete_elem(bpf_map__fd(skel->maps.xfwd_backends), &k))
		return fail("cannot delete the backend entry: %s", strerror(errno));
	TRY(conn_rep(&c, 0, pattern, 30));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_NONE, XFWD_FLOW_SEEN_REPLY);
}

/* One CPU's clock may run a tick behind another's (now_ns caches the coarse
 * clock per jiffy, and at a tick jiffies move first): a connection whose
 * entries another CPU stamped a moment "later" is live, not idle. */
PROG_CASE(clock_behind_is_live)
{
	struct conn c = { IPPROTO_TCP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 41500, 80, 41500, 8080 };
	struct xfwd_flow_key ok = conn_okey(&c);
	struct counters a, b;

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, 0, 1));
	TRY(conn_fwd(&c, TH_SYN, NULL, 0));
	TRY(conn_rep(&c, TH_SYN | TH_ACK, NULL, 0));
	TRY(conn_fwd(&c, TH_ACK, NULL, 0));
	label("both directions stamped by a CPU 4 ms ahead");
	skel->bss->xfwd_clock_offset_ns = 4000000;
	TRY(conn_fwd(&c, TH_ACK, pattern, 20));
	TRY(conn_rep(&c, TH_ACK, pattern, 20));
	label("the next packet on a CPU 4 ms behind");
	skel->bss->xfwd_clock_offset_ns = 0;
	TRY(counters_read(&a));
	TRY(conn_fwd(&c, TH_ACK, pattern, 20));
	TRY(counters_read(&b));
	TRY(expect_moved(&a, &b, XFWD_CNT_FLOW_NEW, 0));
	TRY(expect_entry_packets(&ok, IN_FLOWS, 4, "original entry", NULL));
	return conn_expect(&c, IN_FLOWS, XFWD_ST_ESTABLISHED,
			   XFWD_FLOW_SEEN_REPLY | XFWD_FLOW_ASSURED);
}

/* Both entries at once where one entry would not do: a backend two rules
 * reach, one the index does not know, a backend with a masquerade mapping
 * from that port, and a public address other than the rule's. */
PROG_CASE(lazy_not_when_unsafe)
{
	const struct { const char *to, *whose; struct conn c; } unsafe[] = {
		{ "a backend two rules reach", "a shared backend",
		  { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7100, 53, 7100, 5353 } },
		{ "a backend the index does not know", "an unindexed backend",
		  { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND2, 7101, 54, 7101, 5354 } },
		{ "a backend with a live masquerade mapping from its port", "a mapped backend",
		  { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND2, 7102, 55, 7102, 40355 } },
		{ "a rule of another public address", "when the public address differs",
		  { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7103, 56, 7103, 5356 } },
	};
	struct pkt_spec own = lan_pkt(IPPROTO_UDP, BACKEND2, 40355, CLIENT2, 999);
	struct xfwd_flow_key rk;

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(rule_add(IPPROTO_UDP, 0, 54, BACKEND2, 5354, 0, 2));
	TRY(rule_add(IPPROTO_UDP, 0, 55, BACKEND2, 40355, 0, 3));
	TRY(rule_add(IPPROTO_UDP, 0, 56, BACKEND1, 5356, 0, 4));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND2, 40355, 0, 55, 0));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5356, ip4(192, 0, 2, 99), 56, 0));
	/* The backend's own masqueraded flow from 40355: a live mapping (one
	 * whose flows ended would hold nothing). */
	TRY(masq_add(htonl(0xc6336400), 24, XFWD_FILTER_APDF, 0));
	label("198.51.100.3:40355 > 192.0.2.3:999, masqueraded");
	TRY(expect_xlated(SIDE_LAN, &own, PUB_ADDR, 40355, CLIENT2, 999));

	for (unsigned i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		label("to %s", unsafe[i].to);
		TRY(conn_fwd(&unsafe[i].c, 0, pattern, 10));
		rk = conn_rkey(&unsafe[i].c);
		if (!ASSERT_TRUE(flow_there(&rk), "no reply entry for %s", unsafe[i].whose))
			return -1;
	}
	label("the answers");
	for (unsigned i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		TRY(conn_rep(&unsafe[i].c, 0, pattern, 10));
	return 0;
}

/* The backend's port unreachable is the first thing it sends: the reply
 * entry is made for it, and the error translated (RFC 5508). */
PROG_CASE(lazy_icmp_error_first)
{
	struct conn u = { IPPROTO_UDP, CLIENT1, PUB_ADDR, CLIENT1, BACKEND1, 7200, 53, 7200, 5353 };
	struct pkt_spec cli, seen;
	struct xfwd_flow_key rk = conn_rkey(&u);

	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, 0, 1));
	TRY(backend_add(IPPROTO_UDP, BACKEND1, 5353, 0, 53, 0));
	label("UDP 192.0.2.2:7200 > 192.0.2.1:53");
	cli = conn_fwd_pkt(&u, 0, pattern, 40);
	seen = conn_fwd_seen(&u, &cli);
	TRY(expect_fwd(SIDE_PUB, &cli, &seen));
	if (!ASSERT_TRUE(!flow_there(&rk), "a reply entry before any answer"))
		return -1;
	TRY(conn_unreach(&u, 0, &cli, &seen, IP4_LEN + 8));
	if (!ASSERT_TRUE(flow_there(&rk), "no reply entry after the error"))
		return -1;
	return 0;
}
