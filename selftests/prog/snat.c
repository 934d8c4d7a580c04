// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * SNAT rules: the client's port kept when free, another when a flow or a
 * local socket holds it, drops when none is left, and the replies.
 */
#include <unistd.h>

#include "harness.h"

/* "entry field", for the checks of expect_entries. */
static const char *of(const char *entry, const char *field)
{
	static char b[64];

	snprintf(b, sizeof(b), "%s %s", entry, field);
	return b;
}

/* The entries of one SNATed connection: tuples, twins, translations. */
static int expect_entries(const struct conn *c, uint32_t rule_id)
{
	struct xfwd_flow_key ok = conn_okey(c), rk = conn_rkey(c);
	const struct {
		const char *name;
		struct xfwd_flow_key key, twin;
		unsigned dir, side;
		uint32_t saddr, daddr;	/* the translation */
		uint16_t sport, dport;
	} want[2] = {
		{ "original entry", ok, rk, XFWD_DIR_ORIGINAL, XFWD_SIDE_PUBLIC,
		  c->src, c->backend, c->sport, c->bport },
		{ "reply entry", rk, ok, XFWD_DIR_REPLY, XFWD_SIDE_LAN,
		  c->pub, c->client, c->pport, c->cport },
	};
	struct xfwd_flow e;

	for (int i = 0; i < 2; i++) {
		const char *n = want[i].name;

		if (!ASSERT_TRUE(flow_get(&want[i].key, &e) != IN_NONE, "no %s %s", n,
				 keystr(&want[i].key)))
			return -1;
		if (!ASSERT_KEY(e.twin, want[i].twin, of(n, "twin")) ||
		    !ASSERT_EQ(e.dir, want[i].dir, of(n, "dir")) ||
		    !ASSERT_EQ(e.side, want[i].side, of(n, "side")) ||
		    !ASSERT_ADDR(e.new_saddr, want[i].saddr, of(n, "new_saddr")) ||
		    !ASSERT_EQ(ntohs(e.new_sport), want[i].sport, of(n, "new_sport")) ||
		    !ASSERT_ADDR(e.new_daddr, want[i].daddr, of(n, "new_daddr")) ||
		    !ASSERT_EQ(ntohs(e.new_dport), want[i].dport, of(n, "new_dport")) ||
		    !ASSERT_EQ(e.rule_id, rule_id, of(n, "rule_id")))
			return -1;
	}
	return 0;
}

/* Second client's packet: learn the SNAT port it got, then check it all. */
static int snat_second(uint8_t proto, struct conn *c2)
{
	struct pkt_spec in = pub_pkt(proto, c2->client, c2->cport, c2->pub, c2->pport), exp;
	uint8_t ib[PKT_MAX], eb[PKT_MAX];
	size_t il = pkt_build(&in, ib), el;
	struct frame f;
	uint16_t port;

	TRY(run(SIDE_PUB, ib, il));
	if (!ASSERT_VERDICT(R.verdict, XDP_REDIRECT))
		return -1;
	frame_parse(R.frame, R.len, &f);
	if (!ASSERT_TRUE(f.l4 != 0, "output is not TCP/UDP"))
		return -1;
	port = get16(R.frame + f.l4);
	if (!ASSERT_TRUE(port != c2->cport, "SNAT source port %u: the client's own, which is taken",
			 port))
		return -1;
	if (!ASSERT_TRUE(port >= XFWD_SNAT_PORT_MIN && port <= XFWD_SNAT_PORT_MAX,
			 "SNAT source port %u outside the range %u-%u", port, XFWD_SNAT_PORT_MIN,
			 XFWD_SNAT_PORT_MAX))
		return -1;
	if (!ASSERT_TRUE((port & 1) == (c2->cport & 1), "SNAT source port %u: parity of %u not kept",
			 port, c2->cport))
		return -1;
	c2->sport = port;
	exp = xlated_to(&in, c2->src, port, c2->backend, c2->bport);
	el = pkt_build(&exp, eb);
	return check_translated(eb, el);
}

static int snat_case(uint8_t proto)
{
	uint16_t pport = proto == IPPROTO_TCP ? 80 : 53, bport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct conn c1 = { proto, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, pport, 40000, bport };
	struct conn c2 = { proto, CLIENT2, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, pport, 0, bport };
	int nf, np;

	TRY(rule_add(proto, 0, pport, BACKEND1, bport, XFWD_RULE_SNAT, 2));
	label("client 1 192.0.2.2:40000 > 192.0.2.1:%u (SNAT)", pport);
	TRY(conn_fwd(&c1, TH_SYN, NULL, 0));
	label("client 2 192.0.2.3:40000 > 192.0.2.1:%u (SNAT, same source port)", pport);
	TRY(snat_second(proto, &c2));
	label("flow map after two SNAT clients");
	TRY(expect_entries(&c1, 2));
	TRY(expect_entries(&c2, 2));
	flows_count(&nf, &np);
	if (!ASSERT_EQ(nf + np, 4, "entries in xfwd_flows + xfwd_pending"))
		return -1;
	/* The translation holds for the next packets of each (after the
	 * backend's answer: TCP data before it would be out of window). */
	if (proto == IPPROTO_TCP) {
		label("SYN/ACK to client 1");
		TRY(conn_rep(&c1, TH_SYN | TH_ACK, NULL, 0));
		label("SYN/ACK to client 2");
		TRY(conn_rep(&c2, TH_SYN | TH_ACK, NULL, 0));
	}
	label("client 1, second packet");
	TRY(conn_fwd(&c1, TH_ACK, pattern, 10));
	label("client 2, second packet");
	return conn_fwd(&c2, TH_ACK, pattern, 10);
}

PROG_CASE(snat_tcp_port_preservation)
{
	return snat_case(IPPROTO_TCP);
}

PROG_CASE(snat_udp_port_preservation)
{
	return snat_case(IPPROTO_UDP);
}

/* A port a local socket owns is not handed out (CVE-2021-3773). */
static int shadow_case(uint8_t proto, uint16_t cport)
{
	uint16_t pport = proto == IPPROTO_TCP ? 80 : 53, bport = proto == IPPROTO_TCP ? 8080 : 5353;
	struct conn c = { proto, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, cport, pport, 0, bport };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(cport),
				  .sin_addr.s_addr = LAN_ADDR };
	struct counters a, b;
	int fd, rc, one = 1;

	TRY(rule_add(proto, 0, pport, BACKEND1, bport, XFWD_RULE_SNAT, 2));
	fd = socket(AF_INET, proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    (proto == IPPROTO_TCP && listen(fd, 1))) {
		close(fd);
		return fail("bind %s:%u: %s", astr(LAN_ADDR), cport, strerror(errno));
	}
	label("client 192.0.2.2:%u while a local socket owns 198.51.100.1:%u", cport, cport);
	rc = -1;
	if (counters_read(&a) || snat_second(proto, &c) || counters_read(&b))
		goto out;
	rc = expect_moved(&a, &b, XFWD_CNT_PORT_SHADOWED, 1);
out:
	close(fd);
	return rc;
}

PROG_CASE(snat_port_shadowed_tcp)
{
	return shadow_case(IPPROTO_TCP, 40100);
}

PROG_CASE(snat_port_shadowed_udp)
{
	return shadow_case(IPPROTO_UDP, 40102);
}

/* Every SNAT port of the client's parity owned by local sockets: no port. */
PROG_CASE(snat_all_ports_shadowed)
{
	static const uint16_t owned[2] = { 50000, 50002 };
	struct pkt_spec in = pub_pkt(IPPROTO_UDP, CLIENT1, 50000, PUB_ADDR, 53);
	struct xfwd_config cfg;
	struct counters a, b;
	uint8_t ib[PKT_MAX];
	size_t il = pkt_build(&in, ib);
	int fds[2] = { -1, -1 }, i, rc = -1;

	config_default(&cfg);
	cfg.snat_port_min = 50000;
	cfg.snat_port_max = 50002;
	TRY(config_set(&cfg));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, XFWD_RULE_SNAT, 2));
	for (i = 0; i < 2; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(owned[i]),
					  .sin_addr.s_addr = LAN_ADDR };

		fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa))) {
			fail("bind %s:%u: %s", astr(LAN_ADDR), owned[i], strerror(errno));
			goto out;
		}
	}
	label("UDP from port 50000, SNAT range 50000-50002, 50000 and 50002 owned locally");
	if (counters_read(&a) || run(SIDE_PUB, ib, il) || counters_read(&b))
		goto out;
	if (R.verdict != XDP_DROP) {
		fail("%s: verdict: expected XDP_DROP, got %s (counters: %s; source port %u)",
		     pkt_label, verdict_name(R.verdict), moved(&a, &b),
		     R.len >= ETH_LEN + IP4_LEN + 2 ? get16(R.frame + ETH_LEN + IP4_LEN) : 0);
		goto out;
	}
	if (expect_moved(&a, &b, XFWD_CNT_DROP_NO_SNAT_PORT, 1))
		goto out;
	if (!ASSERT_TRUE(b.c[XFWD_CNT_PORT_SHADOWED] > a.c[XFWD_CNT_PORT_SHADOWED],
			 "counter snat_port_shadowed did not move"))
		goto out;
	rc = 0;
out:
	for (i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

/* One SNAT port, taken: the second client's new flow is dropped and counted. */
PROG_CASE(snat_no_port_drop)
{
	struct conn c1 = { IPPROTO_UDP, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 50000, 53, 50000, 5353 };
	struct pkt_spec in2 = pub_pkt(IPPROTO_UDP, CLIENT2, 50000, PUB_ADDR, 53);
	struct xfwd_config cfg;

	config_default(&cfg);
	cfg.snat_port_min = cfg.snat_port_max = 50000;
	TRY(config_set(&cfg));
	TRY(rule_add(IPPROTO_UDP, 0, 53, BACKEND1, 5353, XFWD_RULE_SNAT, 2));
	label("client 1 192.0.2.2:50000, SNAT range 50000-50000");
	TRY(conn_fwd(&c1, 0, pattern, 8));
	label("client 2 192.0.2.3:50000, no port left");
	TRY(expect_drop(SIDE_PUB, &in2, XFWD_CNT_DROP_NO_SNAT_PORT));
	label("client 1 after the refusal");
	return conn_fwd(&c1, 0, pattern, 8);
}

PROG_CASE(reply_snat)
{
	struct conn c1 = { IPPROTO_TCP, CLIENT1, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, 80, 40000, 8080 };
	struct conn c2 = { IPPROTO_TCP, CLIENT2, PUB_ADDR, LAN_ADDR, BACKEND1, 40000, 80, 0, 8080 };

	TRY(rule_add(IPPROTO_TCP, 0, 80, BACKEND1, 8080, XFWD_RULE_SNAT, 2));
	label("SYN client 1 (SNAT)");
	TRY(conn_fwd(&c1, TH_SYN, NULL, 0));
	label("SYN client 2, same port (SNAT)");
	TRY(snat_second(IPPROTO_TCP, &c2));
	label("SYN/ACK to 198.51.100.1:40000 (client 1)");
	TRY(conn_rep(&c1, TH_SYN | TH_ACK, NULL, 0));
	label("SYN/ACK to 198.51.100.1:%u (client 2)", c2.sport);
	TRY(conn_rep(&c2, TH_SYN | TH_ACK, NULL, 0));
	label("data to client 2");
	return conn_rep(&c2, TH_ACK, pattern, 99);
}
